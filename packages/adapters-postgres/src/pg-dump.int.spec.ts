import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { type AesGcmSecretCipher, createAesGcmSecretCipher, toBase64 } from '@prestabot/adapters-webcrypto';
import { ManageTenants, secretPlaces } from '@prestabot/application';
import { expectOk, seedContact } from '@prestabot/application/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
  `a pg_dump of a database with tenants, tokens, app secrets, Flows keys and bank details${skipReason === undefined ? '' : ` (${skipReason})`}`,
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

    it('holds no token, secret, Flows key or bank account in plaintext, only their ciphertexts', async () => {
      const { storage } = opened;
      const manage = new ManageTenants({ ...storage, cipher, ids: { uuid: () => crypto.randomUUID() } });
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
      // A Flows private key, RSA-2048 PKCS #8 in PEM. Its base64 body is what must not show: a dump's COPY
      // data escapes the PEM's line breaks, so the whole PEM would never match even in plaintext.
      const { privateKey } = await crypto.subtle.generateKey(
        { name: 'RSA-OAEP', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
        true,
        ['decrypt', 'encrypt'],
      );
      const flowKeyBody = toBase64(new Uint8Array(await crypto.subtle.exportKey('pkcs8', privateKey)));
      const flowKeyId = crypto.randomUUID();
      const flowKey = await expectOk(
        cipher.seal(
          `-----BEGIN PRIVATE KEY-----\n${flowKeyBody}\n-----END PRIVATE KEY-----\n`,
          secretPlaces.flowPrivateKey(tenantId, flowKeyId),
        ),
      );
      const accountNumber = crypto
        .getRandomValues(new Uint8Array(18))
        .map((byte) => byte % 10)
        .join('');
      const contact = await seedContact(storage, tenantId);
      const bankDetails = await expectOk(
        cipher.seal(
          JSON.stringify({
            bankName: 'BancoEstado',
            accountType: 'checking',
            accountNumber,
            holderName: 'Ana',
          }),
          secretPlaces.bankDetails(tenantId, contact.id),
        ),
      );
      const t0 = new Date();
      await expectOk(
        storage.unitOfWork.run(tenantId, (r) =>
          r.flowKeys
            .add(
              {
                id: flowKeyId,
                fingerprint: '0123456789abcdef',
                privateKey: flowKey,
                createdAt: t0,
              },
              t0,
            )
            .andThen(() => r.profiles.save(contact.id, { email: 'ana@example.com', bankDetails })),
        ),
      );

      const { stdout: dump } = await promisify(execFile)(
        pgDump!,
        ['--no-owner', '--dbname', opened.databaseUrl!],
        {
          maxBuffer: 64 * 1024 * 1024,
        },
      );
      expect(dump).toContain('Ana SpA');
      for (const secret of [...secrets.slice(0, 4), appSecret, flowKeyBody, accountNumber])
        expect(dump).not.toContain(secret);
      expect(dump).toContain(flowKey.ciphertext);
      expect(dump).toContain(bankDetails.ciphertext);
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
