import {
  defined,
  errAsync,
  okAsync,
  type PhoneNumberId,
  type TenantId,
  type WhatsAppNumber,
} from '@prestabot/domain';
import { storageError } from '../../errors.ts';
import { type NumberStore, tokenStatusOf } from '../../ports/number-store.port.ts';
import { messagingLimitOf, releaseHeldOnRaisedLimit } from './messaging-limits.ts';
import { duplicate, type NumberRow, type State } from './state.ts';

export const numberOf = (row: NumberRow): WhatsAppNumber => ({
  tenantId: row.tenantId,
  phoneNumberId: row.phoneNumberId,
  wabaId: row.wabaId,
  tokenStatus: tokenStatusOf(
    { kind: row.token.kind, length: row.token.kind === 'sealed' ? row.token.length : 0 },
    row.invalid,
  ),
  ratePerSecond: row.ratePerSecond,
  ...defined({ displayPhoneNumber: row.displayPhoneNumber }),
  ...defined({ appId: row.appId }),
  ...defined({ ratePinned: row.ratePinned }),
  ...(row.meta === undefined
    ? {}
    : { meta: { ...row.meta, messagingLimit: row.reportedLimit ?? row.meta.messagingLimit } }),
  ...defined({ qualityFlagged: row.qualityFlagged }),
});

export const ownNumber = (
  tenantId: TenantId,
  state: State,
  phoneNumberId: PhoneNumberId,
): NumberRow | undefined => {
  const row = state.numbers.get(phoneNumberId);
  return row?.tenantId === tenantId ? row : undefined;
};

export const numberStore = (tenantId: TenantId, state: State): NumberStore => ({
  add: (number) => {
    if (!state.tenants.has(tenantId))
      return errAsync(storageError('constraint', `tenant ${tenantId} does not exist`));
    if (state.numbers.has(number.phoneNumberId))
      return errAsync(duplicate(`phone_number_id ${number.phoneNumberId} is registered`));
    state.numbers.set(number.phoneNumberId, { ...number, tenantId });
    return okAsync(undefined);
  },
  get: (phoneNumberId) => {
    const row = ownNumber(tenantId, state, phoneNumberId);
    return okAsync(row === undefined ? undefined : numberOf(row));
  },
  list: () => okAsync([...state.numbers.values()].filter((row) => row.tenantId === tenantId).map(numberOf)),
  token: (phoneNumberId) => okAsync(ownNumber(tenantId, state, phoneNumberId)?.token),
  replaceToken: (phoneNumberId, token) => {
    const row = ownNumber(tenantId, state, phoneNumberId);
    if (row === undefined) return okAsync(false);
    row.token = token;
    delete row.invalid;
    for (const held of state.outbox.values())
      if (
        held.entry.phoneNumberId === phoneNumberId &&
        held.status === 'pending' &&
        held.lastFailure?.reason === 'token_invalid'
      )
        held.availableAt = held.entry.notBefore;
    return okAsync(true);
  },
  recordAccountEvent: (phoneNumberId, { qualityFlagged, messagingLimit }) => {
    const row = ownNumber(tenantId, state, phoneNumberId);
    if (row === undefined) return okAsync(false);
    if (qualityFlagged === true) row.qualityFlagged = true;
    if (qualityFlagged === false) delete row.qualityFlagged;
    if (messagingLimit !== undefined) {
      const previous = messagingLimitOf(row);
      row.reportedLimit = messagingLimit;
      releaseHeldOnRaisedLimit(state, row, previous);
    }
    return okAsync(true);
  },
  recordMetaView: (phoneNumberId, view, { ratePerSecond, syncedAt }) => {
    const row = ownNumber(tenantId, state, phoneNumberId);
    if (row === undefined) return okAsync(undefined);
    const previous = messagingLimitOf(row);
    row.meta = { ...view, syncedAt };
    delete row.reportedLimit;
    releaseHeldOnRaisedLimit(state, row, previous);
    if (ratePerSecond !== undefined && row.ratePinned === undefined) row.ratePerSecond = ratePerSecond;
    return okAsync(numberOf(row));
  },
});
