import { type ContactId, okAsync, type PhoneNumberId, type TenantId } from '@prestabot/domain';
import type { SealedSecretStore } from '../../ports/sealed-secret-store.port.ts';
import { type SealedSecret, type SecretPlace, secretPlaces } from '../../ports/secret-cipher.port.ts';
import { ownNumber } from './number-store.ts';
import type { State } from './state.ts';

const sameSealed = (a: SealedSecret | undefined, b: SealedSecret): boolean =>
  a?.keyId === b.keyId && a.ciphertext === b.ciphertext;

/** The tenant's sealed secrets across the tables that hold them, as the SQL store reads them. */
export const sealedSecretStore = (tenantId: TenantId, state: State): SealedSecretStore => ({
  list: () =>
    okAsync([
      ...[...state.numbers.peekValues()].flatMap((row) =>
        row.tenantId === tenantId && row.token.kind === 'sealed'
          ? [{ place: secretPlaces.accessToken(tenantId, row.phoneNumberId), sealed: row.token.sealed }]
          : [],
      ),
      ...[...state.flowKeys.peekValues()].flatMap((key) =>
        key.tenantId === tenantId
          ? [{ place: secretPlaces.flowPrivateKey(tenantId, key.id), sealed: key.privateKey }]
          : [],
      ),
      ...[...state.profiles.keys()].flatMap((contactId) => {
        const profile = state.profiles.peek(contactId);
        return profile?.tenantId === tenantId && profile.bankDetails !== undefined
          ? [
              {
                place: secretPlaces.bankDetails(tenantId, contactId as ContactId),
                sealed: profile.bankDetails,
              },
            ]
          : [];
      }),
    ]),
  replace: (place, from, to) => {
    if (place.tenantId !== tenantId) return okAsync(false);
    const { table, column, rowId } = place;
    const is = (expected: SecretPlace) => expected.table === table && expected.column === column;
    if (is(secretPlaces.accessToken(tenantId, rowId as PhoneNumberId))) {
      const row = ownNumber(tenantId, state, rowId as PhoneNumberId);
      if (row?.token.kind !== 'sealed' || !sameSealed(row.token.sealed, from)) return okAsync(false);
      row.token = { ...row.token, sealed: to };
      return okAsync(true);
    }
    if (is(secretPlaces.flowPrivateKey(tenantId, rowId))) {
      const key = state.flowKeys.get(rowId);
      if (key?.tenantId !== tenantId || !sameSealed(key.privateKey, from)) return okAsync(false);
      state.flowKeys.set(rowId, { ...key, privateKey: to });
      return okAsync(true);
    }
    if (is(secretPlaces.bankDetails(tenantId, rowId as ContactId))) {
      const profile = state.profiles.get(rowId);
      if (profile?.tenantId !== tenantId || !sameSealed(profile.bankDetails, from)) return okAsync(false);
      state.profiles.set(rowId, { ...profile, bankDetails: to });
      return okAsync(true);
    }
    return okAsync(false);
  },
});
