import type { InboundMessage } from '@prestabot/domain';
import type { ClaimedInboxEntry, ClaimedStatusEntry } from '../ports/inbox.port.ts';
import type { StatusOutcome } from '../ports/message-log.port.ts';

/**
 * What a tenant's unit of work does with an entry: answer a message, run the listeners of a status before
 * completing it, or hand back (or give up) a status whose message is unknown.
 */
export type TenantWork =
  | { readonly kind: 'message'; readonly entry: ClaimedInboxEntry; readonly message: InboundMessage }
  | { readonly kind: 'follow_up'; readonly entry: ClaimedStatusEntry; readonly outcome: StatusOutcome }
  | { readonly kind: 'unknown_status'; readonly entry: ClaimedStatusEntry };

export const isStatusEntry = (entry: ClaimedInboxEntry): entry is ClaimedStatusEntry =>
  entry.item.kind === 'status';

/** The processing order a claim uses: WhatsApp's timestamp, then arrival. */
export const inProcessingOrder = (a: TenantWork, b: TenantWork): number =>
  timeOf(a.entry) - timeOf(b.entry) ||
  a.entry.receivedAt.getTime() - b.entry.receivedAt.getTime() ||
  (a.entry.id < b.entry.id ? -1 : a.entry.id > b.entry.id ? 1 : 0);

const timeOf = (entry: ClaimedInboxEntry): number =>
  (entry.item.kind === 'message' ? entry.item.sentAt : entry.item.at).getTime();
