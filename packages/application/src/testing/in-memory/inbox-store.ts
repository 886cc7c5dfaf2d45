import { okAsync, type TenantId } from '@prestabot/domain';
import type { InboxStore, Lease } from '../../ports/inbox.port.ts';
import { holdsLease, type State } from './state.ts';

export const inboxStore = (tenantId: TenantId, state: State): InboxStore => {
  const leased = (id: string, lease: Lease) => {
    const row = state.inbox.get(id);
    return row !== undefined &&
      row.tenantId === tenantId &&
      row.processedAt === undefined &&
      holdsLease(row, lease)
      ? row
      : undefined;
  };
  return {
    complete: (entries, at) => {
      const rows = entries.map(({ id, lease }) => leased(id, lease));
      for (const row of rows) {
        if (row === undefined) continue;
        row.processedAt = at;
        delete row.lease;
      }
      return okAsync(rows.every((row) => row !== undefined));
    },
    release: (id, lease, retryAt, error) => {
      const row = leased(id, lease);
      if (row === undefined) return okAsync(false);
      row.availableAt = retryAt;
      row.lastError = error;
      delete row.lease;
      return okAsync(true);
    },
    abandon: (id, lease, at, error) => {
      const row = leased(id, lease);
      if (row === undefined) return okAsync(false);
      row.processedAt = at;
      row.abandoned = true;
      row.lastError = error;
      delete row.lease;
      return okAsync(true);
    },
  };
};
