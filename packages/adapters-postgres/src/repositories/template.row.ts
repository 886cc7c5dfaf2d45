import { type RegisteredTemplate, templatePurposes, templateVariables } from '@prestabot/application';
import { agreementActions } from '@prestabot/domain';
import * as z from 'zod';

// The approved templates' rows (`prestabot.templates`).

export const templateColumnsSql = 'purpose, name, language, parameters, quick_replies, status, status_reason';

export const templateRow = z
  .object({
    purpose: z.enum(templatePurposes),
    name: z.string(),
    language: z.string(),
    parameters: z.array(z.object({ variable: z.enum(templateVariables), name: z.string().exactOptional() })),
    quick_replies: z.array(z.enum(agreementActions)),
    // `pending` was never written: only approved templates are registered.
    status: z.enum(['approved', 'paused', 'disabled', 'rejected', 'recategorised']),
    status_reason: z.string().nullable(),
  })
  .transform(
    (row): RegisteredTemplate => ({
      purpose: row.purpose,
      name: row.name,
      language: row.language,
      parameters: row.parameters,
      quickReplies: row.quick_replies,
      ...(row.status === 'approved'
        ? {}
        : { stopped: { status: row.status, reason: row.status_reason ?? row.status.toUpperCase() } }),
    }),
  );
