import type { PhoneNumberId } from '@prestabot/domain';
import { defined } from '@prestabot/domain';
import { FakeSecretCipher } from './fake-secret-cipher.ts';
import { InMemoryDatabase } from './in-memory-database.ts';
import {
  describeMessagingGatewayContract,
  describeSecretCipherContract,
  describeStorageContracts,
} from './index.ts';
import { RecordingGateway } from './recording-gateway.ts';

describeStorageContracts('in-memory', async () => new InMemoryDatabase().harness());

describeSecretCipherContract('fake cipher', {
  cipher: () => new FakeSecretCipher('key-1'),
  withoutKey: () => new FakeSecretCipher(null),
  withOtherKey: () => new FakeSecretCipher('key-2'),
  rotated: () => new FakeSecretCipher('key-2', ['key-1']),
});

describeMessagingGatewayContract('recording gateway', async () => {
  const gateway = new RecordingGateway();
  const number = { phoneNumberId: '1065403522429' as PhoneNumberId, accessToken: 'EAAG-number-token' };
  gateway.allow(number.phoneNumberId, number.accessToken);
  return {
    gateway,
    number,
    failNext: ({ code, title, retryAfterSeconds }) =>
      gateway.failNext(number.phoneNumberId, {
        code,
        ...defined({ title }),
        ...(retryAfterSeconds === undefined ? {} : { retryAfterMs: retryAfterSeconds * 1000 }),
      }),
    dropNext: () => gateway.failNext(number.phoneNumberId, { network: true }),
    accepted: async () => gateway.accepted.filter((send) => send.phoneNumberId === number.phoneNumberId),
    close: async () => {},
  };
});
