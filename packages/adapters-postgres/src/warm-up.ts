import type { SendRecord, StorageError } from '@prestabot/application';
import { ResultAsync } from '@prestabot/domain';
import type { SqlDriver } from './sql/sql-driver.ts';

/** The nil UUID: no inbox entry or send has it, so what names it changes nothing. */
const nothing = '00000000-0000-0000-0000-000000000000';

/**
 * What a function runs only for the batches that need it, it plans only when one comes: the warm-up's
 * calls name what no tenant has (a status of no number, outcomes of every kind for no send) so that their
 * statements run, and plan, on rows that are not there.
 */
const statusOfNoNumber = JSON.stringify([
  {
    ordinal: 0,
    id: nothing,
    phone_number_id: '',
    delivery_key: 'warm-up',
    kind: 'status',
    item: {},
    item_time: '2026-01-01T00:00:00Z',
    received_at: '2026-01-01T00:00:00Z',
  },
]);
/** Every kind of send outcome, each with a statement of its own: the type check finds one left out. */
const outcomeKinds: Record<SendRecord['kind'], true> = {
  sent: true,
  failed: true,
  requeue: true,
  fallback: true,
  hold: true,
  token_invalid: true,
  retry: true,
};
const outcomesOfNoSend = JSON.stringify(
  Object.keys(outcomeKinds).map((kind, ordinal) => ({
    ordinal,
    id: nothing,
    kind,
    lease_owner: 'warm-up',
    leased_until: '2026-01-01T00:00:00Z',
  })),
);

/**
 * The cross-tenant functions every message goes through, each called so that it changes nothing: a new
 * server connection parses each PL/pgSQL function and plans its statements the first time it runs them,
 * 50–100 ms of the server's CPU per connection in all, which a process that opens its connections under
 * load pays while webhooks queue.
 */
const warmUpScript = `
SELECT count(*) FROM prestabot.store_webhook_items('${statusOfNoNumber}'::jsonb, NULL, 0, now(), '{}'::text[], '{}'::text[]);
SELECT count(*) FROM prestabot.apply_statuses('[]'::jsonb, now(), '{}'::text[], '{}'::text[]);
SELECT count(*) FROM prestabot.claim_inbox('warm-up', 0, 1000, now(), NULL);
SELECT count(*) FROM prestabot.claim_outbox('warm-up', 0, 1000, now(), 1000, 1);
SELECT count(*) FROM prestabot.lease_sends('{}'::uuid[], 'warm-up', 1000, now(), 1000, 1);
SELECT count(*) FROM prestabot.record_send_outcomes('${outcomesOfNoSend}'::jsonb);
SELECT count(*) FROM prestabot.renew_leases('outbox', 'warm-up', '{}'::uuid[], 1000, now());
SELECT count(*) FROM prestabot.find_number_route('');
`;

/**
 * Opens up to `connections` server connections at once and runs the warm-up script on each, in one round
 * trip, so a process starting under load does not open them, and compile the message path, while webhooks
 * wait. Returns how many were warmed; PGlite has one connection, warmed once.
 */
export const warmUpConnections = (
  driver: SqlDriver,
  connections: number,
): ResultAsync<number, StorageError> => {
  const count = driver.name === 'pglite' ? 1 : Math.max(1, connections);
  // All at once, so the pool opens a connection for each instead of reusing the first that comes back.
  return ResultAsync.combine(Array.from({ length: count }, () => driver.script(warmUpScript))).map(
    (warmed) => warmed.length,
  );
};
