import type { Wamid } from '@prestabot/domain';
import type { ClaimedSend, SendRecord } from '../../ports/outbox.port.ts';
import { expectOk, type StorageHarness } from './storage-harness.ts';

export const t0 = new Date('2026-03-02T12:00:00.000Z');
export const at = (ms: number) => new Date(t0.getTime() + ms);

/** Claims and records on the outbox queue of the harness the running test got. */
export const outboxHelpers = (current: () => StorageHarness) => {
  const claim = (now: Date, options: { limit?: number; horizonMs?: number; owner?: string } = {}) =>
    expectOk(
      current().outboxQueue.claim({
        owner: options.owner ?? 'w',
        now,
        limit: options.limit ?? 500,
        leaseMs: 30_000,
        horizonMs: options.horizonMs ?? 1000,
      }),
    );

  const mine = (claimed: readonly ClaimedSend[], phoneNumberId: string) =>
    claimed.filter((send) => send.phoneNumberId === phoneNumberId);

  const record = async (outcome: SendRecord): Promise<boolean> =>
    (await expectOk(current().outboxQueue.record([outcome])))[0]!;

  const sent = (send: Pick<ClaimedSend, 'id' | 'lease'>, wamid: string, when: Date) =>
    record({ kind: 'sent', id: send.id, lease: send.lease, wamid: wamid as Wamid, at: when });

  return { claim, mine, record, sent };
};
