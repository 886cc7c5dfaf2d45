import type { PhoneNumberId, ResultAsync, StatusPricing, TenantId, Wamid } from '@prestabot/domain';
import type { StorageError } from '../errors.ts';

/** A message's price as one of its status webhooks reported it. */
export type PricedMessage = {
  readonly phoneNumberId: PhoneNumberId;
  readonly wamid: Wamid;
  /** When the status was reported: the message counts in this month. */
  readonly at: Date;
  readonly pricing: StatusPricing;
};

export type UsageQuery = {
  /** Every tenant when absent. */
  readonly tenantId?: TenantId;
  /** Messages priced at or after `from` and before `until`. */
  readonly from: Date;
  readonly until: Date;
};

/** How many messages one number sent in one pricing category, billable or free. */
export type UsageRow = {
  readonly tenantId: TenantId;
  readonly phoneNumberId: PhoneNumberId;
  readonly category: string;
  readonly billable: boolean;
  readonly messages: number;
};

/**
 * What Meta charges, message by message, across tenants: what a deployment hosting many tenants bills
 * from. The inbox store records it as it stores status webhooks (`InboxQueue.store`), each message once,
 * under the tenant its number belongs to, with the first pricing recorded for it; this reads it.
 */
export interface UsageLedger {
  /** Messages by tenant, number, category and billable, ordered by those. */
  usage(query: UsageQuery): ResultAsync<readonly UsageRow[], StorageError>;
}
