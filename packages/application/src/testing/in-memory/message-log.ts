import { type ContactId, defined, okAsync, type PhoneNumberId, type TenantId } from '@prestabot/domain';
import type { MessageLog } from '../../ports/message-log.port.ts';
import type { State } from './state.ts';

const windowKey = (tenantId: TenantId, phoneNumberId: PhoneNumberId, contactId: ContactId): string =>
  `${tenantId}|${phoneNumberId}|${contactId}`;

export const messageLog = (tenantId: TenantId, state: State): MessageLog => ({
  recordInbound: ({ phoneNumberId, contactId, sentAt }) => {
    const key = windowKey(tenantId, phoneNumberId, contactId);
    const last = state.lastInboundAt.get(key);
    if (last === undefined || sentAt > last) state.lastInboundAt.set(key, sentAt);
    return okAsync(undefined);
  },
  lastInboundAt: (phoneNumberId, contactId) =>
    okAsync(state.lastInboundAt.get(windowKey(tenantId, phoneNumberId, contactId))),
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
