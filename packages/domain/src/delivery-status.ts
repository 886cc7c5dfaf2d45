/**
 * Where an outbound message is. `queued` is ours (in the outbox); `accepted` means Graph returned a wamid;
 * the rest come from status webhooks.
 */
export type DeliveryStatus = 'queued' | 'accepted' | 'sent' | 'delivered' | 'read' | 'played' | 'failed';

/** The statuses Meta reports in webhooks. */
export type WebhookDeliveryStatus = 'sent' | 'delivered' | 'read' | 'played' | 'failed';
export const webhookDeliveryStatuses: readonly WebhookDeliveryStatus[] = [
  'sent',
  'delivered',
  'read',
  'played',
  'failed',
];

const rank: Record<Exclude<DeliveryStatus, 'failed'>, number> = {
  queued: 0,
  accepted: 1,
  sent: 2,
  delivered: 3,
  read: 4,
  played: 5,
};

/**
 * Statuses arrive out of order (a `read` may come before its `delivered`). A message only ever moves
 * forward along `sent < delivered < read`, and `failed` is terminal: once failed, nothing changes it.
 */
export const advanceStatus = (current: DeliveryStatus, incoming: DeliveryStatus): DeliveryStatus => {
  if (current === 'failed') return current;
  if (incoming === 'failed') return incoming;
  return rank[incoming] > rank[current] ? incoming : current;
};

export const isStatusAdvance = (current: DeliveryStatus, incoming: DeliveryStatus): boolean =>
  advanceStatus(current, incoming) !== current;
