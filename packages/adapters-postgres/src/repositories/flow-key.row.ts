import type { StoredFlowKey } from '@prestabot/application';
import type { PhoneNumberId, TenantId } from '@prestabot/domain';
import * as z from 'zod';
import { branded, present, storedTime } from '../sql/column-types.ts';

// The Flows keys' rows (`prestabot.flow_keys`), alone and with the tenant of their number.

export const flowKeyColumnsSql =
  'id, phone_number_id, fingerprint, private_key_key_id, private_key_ciphertext, created_at, retired_at, grace_from';

export const flowKeyColumns = {
  id: z.string(),
  phone_number_id: branded<PhoneNumberId>().nullable(),
  fingerprint: z.string(),
  private_key_key_id: z.string(),
  private_key_ciphertext: z.string(),
  created_at: storedTime,
  retired_at: storedTime.nullable(),
  grace_from: storedTime.nullable(),
};

export const flowKeyOf = (row: z.output<z.ZodObject<typeof flowKeyColumns>>): StoredFlowKey => ({
  id: row.id,
  fingerprint: row.fingerprint,
  privateKey: { keyId: row.private_key_key_id, ciphertext: row.private_key_ciphertext },
  createdAt: row.created_at,
  ...present('phoneNumberId', row.phone_number_id),
  ...present('retiredAt', row.retired_at),
  ...present('graceFrom', row.grace_from),
});

export const flowKeyRow = z.object(flowKeyColumns).transform(flowKeyOf);

/** A row of `prestabot.list_flow_keys`: a key with its tenant. */
export const tenantFlowKeyRow = z
  .object({ ...flowKeyColumns, tenant_id: branded<TenantId>() })
  .transform((row) => ({ ...flowKeyOf(row), tenantId: row.tenant_id }));
