import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { ManageTenants } from '@prestabot/application';
import { expectOk } from '@prestabot/application/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AesGcmSecretCipher, createAesGcmSecretCipher } from './cipher/aes-gcm-secret-cipher.ts';
import { driversUnderTest, postgresSkipReason } from './testing/each-driver.ts';
import { openTestStorage, type TestStorage } from './testing/test-database.ts';

const pgDump = ['/usr/bin/pg_dump', '/usr/lib/postgresql/15/bin/pg_dump'].find((path) => existsSync(path));
const serverUrl = driversUnderTest.find((driver) => driver.name === 'PostgreSQL')?.serverUrl;
const skipReason =
  serverUrl === undefined
    ? postgresSkipReason
    : pgDump === undefined
      ? 'skipped: no pg_dump binary found'
      : undefined;

describe.skipIf(skipReason !== undefined)(
  `a pg_dump of a database with tenants, tokens and app secrets${skipReason === undefined ? '' : ` (${skipReason})`}`,
  () => {
    let opened: TestStorage;
    let cipher: AesGcmSecretCipher;
    beforeAll(async () => {
      cipher = (
        await createAesGcmSecretCipher({
          PRESTABOT_ENCRYPTION_KEY: btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32)))),
        })
      )._unsafeUnwrap();
      opened = await openTestStorage(serverUrl, { cipher });
    });
    afterAll(() => opened.release());

    it('holds no token or secret in plaintext, only their ciphertexts', async () => {
      const { storage } = opened;
      const manage = new ManageTenants({
        directory: storage.directory,
        apps: storage.apps,
        unitOfWork: storage.unitOfWork,
        cipher,
        ids: { uuid: () => crypto.randomUUID() },
      });
      const secrets = Array.from(
        { length: 5 },
        (_, index) => `EAAG${index}plaintext${crypto.randomUUID().replaceAll('-', '')}`,
      );
      const appSecret = `app-secret-${crypto.randomUUID()}`;
      const { tenantId } = await expectOk(
        manage.addTenant({
          name: 'Ana SpA',
          phoneNumberId: '1065400000001',
          accessToken: secrets[0]!,
          wabaId: '1',
          appSecret,
          metaAppId: '77',
        }),
      );
      await expectOk(
        manage.addNumber(tenantId, { phoneNumberId: '1065400000002', accessToken: secrets[1]!, wabaId: '1' }),
      );
      await expectOk(
        manage.addTenant({
          name: 'Pedro Ltda',
          phoneNumberId: '1065400000003',
          accessToken: secrets[2]!,
          wabaId: '2',
        }),
      );
      await expectOk(manage.rotateToken('1065400000003', secrets[3]!));
      await expectOk(
        manage.addTenant({ name: 'Sin token', phoneNumberId: '1065400000004', accessToken: '', wabaId: '3' }),
      );

      const { stdout: dump } = await promisify(execFile)(
        pgDump!,
        ['--no-owner', '--dbname', opened.databaseUrl!],
        {
          maxBuffer: 64 * 1024 * 1024,
        },
      );
      expect(dump).toContain('Ana SpA');
      for (const secret of [...secrets.slice(0, 4), appSecret]) expect(dump).not.toContain(secret);
      const health = await expectOk(storage.inspect());
      if (!health.reachable) throw new Error('unreachable');
      expect(health.numbers?.filter((number) => number.tokenReadable === true)).toHaveLength(3);
      const sealed = await expectOk(
        storage.unitOfWork.run(tenantId, (r) => r.numbers.token('1065400000001' as never)),
      );
      expect(sealed?.kind === 'sealed' && dump.includes(sealed.sealed.ciphertext)).toBe(true);
    });
  },
);
