import type { RegisteredApp } from '@prestabot/application';
import type { AppId, MetaAppId } from '@prestabot/domain';
import * as z from 'zod';
import { branded, present } from './sql/column-types.ts';

// The Meta apps' rows (`prestabot.meta_apps`).

export const registeredAppRow = z
  .object({
    id: branded<AppId>(),
    meta_app_id: branded<MetaAppId>().nullable(),
    secret_key_id: z.string(),
    secret_ciphertext: z.string(),
  })
  .transform(
    (row): RegisteredApp => ({
      id: row.id,
      secret: { keyId: row.secret_key_id, ciphertext: row.secret_ciphertext },
      ...present('metaAppId', row.meta_app_id),
    }),
  );

export const appIdRow = z.object({ id: branded<AppId>() }).transform((row) => row.id);
