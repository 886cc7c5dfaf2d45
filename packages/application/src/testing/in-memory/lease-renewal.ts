import type { Lease } from '../../ports/inbox.port.ts';
import type { LeaseRenewalRequest } from '../../ports/lease-renewal.port.ts';
import type { State } from './state.ts';

/** A leased row of any queue, and whether its work is still to be done. */
type LeasedRow = { lease?: Lease };

const unfinishedRow = (state: State, request: LeaseRenewalRequest, id: string): LeasedRow | undefined => {
  switch (request.queue) {
    case 'inbox': {
      const row = state.inbox.get(id);
      return row?.processedAt === undefined ? row : undefined;
    }
    case 'outbox': {
      const row = state.outbox.get(id);
      return row?.status === 'pending' ? row : undefined;
    }
    case 'reminders': {
      const row = state.reminders.get(id);
      return row?.reminder.status === 'pending' ? row : undefined;
    }
  }
};

/** As `prestabot.renew_leases`: live leases of `owner` move to `now + leaseMs`, never earlier. */
export const renewLeases = (state: State, request: LeaseRenewalRequest): string[] =>
  request.ids.filter((id) => {
    const row = unfinishedRow(state, request, id);
    const lease = row?.lease;
    if (row === undefined || lease === undefined) return false;
    if (lease.owner !== request.owner || lease.until <= request.now) return false;
    const renewed = request.now.getTime() + request.leaseMs;
    row.lease = { owner: lease.owner, until: new Date(Math.max(lease.until.getTime(), renewed)) };
    return true;
  });
