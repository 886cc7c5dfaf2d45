import { defined, okAsync, type TenantId } from '@prestabot/domain';
import type { MessageLog } from '../../ports/message-log.port.ts';
import type { State } from './state.ts';

export const messageLog = (tenantId: TenantId, state: State): MessageLog => ({
  recordInbound: (record) => {
    const key = `${tenantId}|${record.wamid}`;
    if (!state.inbound.has(key)) state.inbound.set(key, { ...record, tenantId });
    return okAsync(undefined);
  },
  lastInboundAt: (phoneNumberId, contactId) =>
    okAsync(
      [...state.inbound.values()]
        .filter(
          (row) =>
            row.tenantId === tenantId && row.phoneNumberId === phoneNumberId && row.contactId === contactId,
        )
        .reduce<Date | undefined>(
          (latest, row) => (latest === undefined || row.sentAt > latest ? row.sentAt : latest),
          undefined,
        ),
    ),
  recordOutbound: (record) => {
    const key = `${tenantId}|${record.wamid}`;
    if (!state.outbound.has(key)) state.outbound.set(key, { ...record, tenantId, status: 'accepted' });
    return okAsync(undefined);
  },
  outbound: (wamid) => {
    const row = state.outbound.get(`${tenantId}|${wamid}`);
    return okAsync(
      row === undefined
        ? undefined
        : {
            current: row.status,
            outboxId: row.outboxId,
            origin: row.origin,
            ...defined({ contactId: row.contactId }),
            ...defined({ error: row.error }),
          },
    );
  },
});
