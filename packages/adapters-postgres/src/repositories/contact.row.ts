import type { ContactProfile, SealedSecret } from '@prestabot/application';
import type { Contact, ContactId, E164, TenantId } from '@prestabot/domain';
import * as z from 'zod';
import { branded, present } from '../sql/column-types.ts';

// The contacts' rows (`prestabot.contacts`) and their sealed profiles (`prestabot.contact_profiles`).

export const contactColumnsSql = 'id, tenant_id, phone_e164, user_id, name, opted_out';

export const contactColumns = {
  id: branded<ContactId>(),
  tenant_id: branded<TenantId>(),
  phone_e164: branded<E164>().nullable(),
  user_id: z.string().nullable(),
  name: z.string().nullable(),
  opted_out: z.boolean(),
};

export const contactOf = (row: z.output<z.ZodObject<typeof contactColumns>>): Contact => ({
  id: row.id,
  tenantId: row.tenant_id,
  optedOut: row.opted_out,
  ...present('phone', row.phone_e164),
  ...present('userId', row.user_id),
  ...present('name', row.name),
});

export const contactRow = z.object(contactColumns).transform(contactOf);

export const upsertedContactRow = z
  .object({ ...contactColumns, created: z.boolean() })
  .transform((row) => ({ contact: contactOf(row), created: row.created }));

/** A sealed secret as its columns (`…_key_id`, `…_ciphertext`): both NULL when there is none. */
export const sealedColumnsOf = (secret: SealedSecret | undefined): readonly [string | null, string | null] =>
  secret === undefined ? [null, null] : [secret.keyId, secret.ciphertext];

export const contactProfileRow = z
  .object({
    name: z.string().nullable(),
    email: z.string().nullable(),
    bank_details_key_id: z.string().nullable(),
    bank_details_ciphertext: z.string().nullable(),
  })
  .transform((row, context): ContactProfile => {
    if ((row.bank_details_key_id === null) !== (row.bank_details_ciphertext === null)) {
      context.issues.push({
        code: 'custom',
        message: 'sealed bank details lack their key id or ciphertext',
        input: null,
      });
      return z.NEVER;
    }
    return {
      ...present('name', row.name),
      ...present('email', row.email),
      ...present(
        'bankDetails',
        row.bank_details_key_id === null || row.bank_details_ciphertext === null
          ? null
          : { keyId: row.bank_details_key_id, ciphertext: row.bank_details_ciphertext },
      ),
    };
  });
