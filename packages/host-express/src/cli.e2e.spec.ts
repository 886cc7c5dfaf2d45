import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, type TestDatabase } from '@prestabot/adapters-postgres/testing';
import { type FakeGraph, startFakeGraph } from '@prestabot/fake-graph';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const serverUrl = process.env.TEST_DATABASE_URL;

type Run = { readonly code: number; readonly stdout: string; readonly stderr: string };

const numberA = '1065403522429';
const numberB = '2075403522430';
const tokenA = 'EAAG-cli-token-A-0123456789';
const tokenB = 'EAAG-cli-token-B-9876543210';
/** The options every number takes, as `tenants add` and `numbers add` want them. */
const numberArgs = (phoneNumberId: string, accessToken: string, ...more: string[]) => [
  '--phone-number-id',
  phoneNumberId,
  '--access-token',
  accessToken,
  '--waba-id',
  '102290129340398',
  ...more,
];
const uuidLine = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\n$/;

// The CLI as operators and outside tests drive it: the built binary, a database of its own (PostgreSQL when
// the run has one, else the embedded default), and the fake Graph API for what goes to Meta.
describe(`the prestabot CLI on ${serverUrl === undefined ? 'the embedded database' : 'PostgreSQL'}`, () => {
  let fake: FakeGraph;
  let database: TestDatabase | undefined;
  let dataDir: string;
  let env: Record<string, string>;
  const run = (args: readonly string[], extraEnv: Record<string, string> = {}, input = ''): Promise<Run> =>
    new Promise((resolve) => {
      const child = execFile(
        process.execPath,
        [cli, ...args],
        { env: { PATH: process.env.PATH ?? '', ...env, ...extraEnv }, timeout: 60_000 },
        (error, stdout, stderr) => {
          const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
          resolve({ code, stdout, stderr });
        },
      );
      child.stdin?.end(input);
    });
  let tenantA = '';

  beforeAll(async () => {
    fake = await startFakeGraph({
      numbers: [
        { phoneNumberId: numberA, accessToken: tokenA, wabaId: '102290129340398' },
        { phoneNumberId: numberB, accessToken: tokenB, wabaId: '102290129340398' },
      ],
    });
    dataDir = await mkdtemp(join(tmpdir(), 'prestabot-cli-'));
    database = serverUrl === undefined ? undefined : await createTestDatabase(serverUrl);
    env = {
      PRESTABOT_ENCRYPTION_KEY: btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32)))),
      META_GRAPH_URL: fake.url,
      WHATSAPP_VERIFY_TOKEN: 'cli-verify',
      META_APP_SECRET: 'cli-app-secret',
      ...(database === undefined ? { PRESTABOT_DATA_DIR: dataDir } : { DATABASE_URL: database.url }),
    };
  }, 60_000);

  afterAll(async () => {
    await fake?.close();
    await database?.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('migrates, and again with nothing to do', async () => {
    const first = await run(['migrate']);
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout).toMatch(/^applied: 0001/);
    expect(await run(['migrate'])).toMatchObject({ code: 0, stdout: 'database is up to date\n' });
  });

  it('adds a tenant, prints its id, and lists it with the token masked', async () => {
    const added = await run([
      'tenants',
      'add',
      '--name',
      'Préstamos Ana',
      ...numberArgs(numberA, tokenA, '--timezone', 'America/Bogota', '--display-phone', '+56912345678'),
    ]);
    expect(added).toMatchObject({ code: 0 });
    expect(added.stdout).toMatch(uuidLine);
    tenantA = added.stdout.trim();
    const listed = await run(['tenants', 'list']);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(`SET (${tokenA.length} chars)`);
    expect(listed.stdout).toContain('America/Bogota');
    expect(`${listed.stdout}${listed.stderr}${added.stderr}`).not.toContain(tokenA);
    const json = (await run(['tenants', 'list', '--json'])).stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(json).toEqual([
      expect.objectContaining({
        tenantId: tenantA,
        phoneNumberId: numberA,
        tokenStatus: `SET (${tokenA.length} chars)`,
      }),
    ]);
  });

  it("numbers sync stores Meta's view, shows it in tenants list, and lets the rate follow the throughput", async () => {
    fake.setMetaFields(numberA, {
      messagingLimit: 'TIER_2K',
      qualityRating: 'YELLOW',
      throughputLevel: 'HIGH',
    });
    const synced = await run(['numbers', 'sync', '--phone-number-id', numberA, '--json']);
    expect(synced).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(synced.stdout)).toEqual({
      tenantId: tenantA,
      phoneNumberId: numberA,
      synced: true,
      messagingLimit: 2000,
      qualityRating: 'YELLOW',
      throughputLevel: 'HIGH',
      ratePerSecond: 1000,
      ratePinned: false,
      businessPortfolioId: '7700000000001',
      nameStatus: 'APPROVED',
      verifiedName: 'PrestaBot Test',
    });
    const listed = (await run(['tenants', 'list'])).stdout.split('\n');
    expect(listed[0]).toMatch(/TOKEN +LIMIT +QUALITY +THROUGHPUT$/);
    expect(listed[1]).toMatch(/ 1000 .* 2000\/24h +YELLOW +HIGH$/);
    expect((await run(['doctor'])).stdout).toContain(
      `number ${numberA}: limit 2000/24h, quality YELLOW, throughput HIGH`,
    );
    fake.setMetaFields(numberA, { throughputLevel: 'STANDARD' });
    fake.rotateToken(numberA, 'EAAG-rotated-at-meta-only');
    const refused = await run(['numbers', 'sync']);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(new RegExp(`^✗ ${numberA}: .*code 190`));
    fake.rotateToken(numberA, tokenA);
    expect((await run(['numbers', 'sync'])).stdout).toMatch(
      new RegExp(`^✓ ${numberA}: limit 2000/24h .* rate 80/s`),
    );
    expect(await run(['numbers', 'sync', '--phone-number-id', '999'])).toMatchObject({ code: 1 });
  });

  it('refuses bad arguments with one line naming the value and the expected form, exit 2', async () => {
    const cases: (readonly string[])[] = [
      ['tenants', 'add', '--name', 'X', ...numberArgs('abc', 't')],
      ['tenants', 'add', '--name', 'X', ...numberArgs('1', 't', '--timezone', 'Mars/Base')],
      ['tenants', 'add', '--name', 'X', ...numberArgs('1', 't', '--rate', '0')],
      ['tenants', 'add', '--name', 'X'],
      ['numbers', 'add', '--tenant', 'not-a-uuid', ...numberArgs('1', 't')],
      ['tenants', 'configure', '--tenant', tenantA, '--reminder-hour', '25'],
      ['tenants', 'configure', '--tenant', tenantA, '--currency', 'XYZ'],
      ['flows', 'print-json', 'survey'],
      ['usage', '--month', '2026-13'],
      ['usage', '--tenant', 'acme'],
      ['numbers', 'sync', '--phone-number-id', '+56 9'],
      ['no-such-command'],
    ];
    for (const args of cases) {
      const refused = await run(args);
      expect({ args, code: refused.code }).toEqual({ args, code: 2 });
      expect(refused.stderr.trim().split('\n')).toHaveLength(1);
      expect(refused.stderr).toMatch(/^error: /);
    }
    const named = await run(['tenants', 'configure', '--tenant', tenantA, '--currency', 'XYZ']);
    expect(named.stderr).toContain('--currency "XYZ" is not valid: expected one of');
  });

  it('refuses a bad environment variable naming it, exit 2, and never echoes a secret', async () => {
    const badPort = await run(['tenants', 'list'], { PORT: 'eighty' });
    expect(badPort.code).toBe(2);
    expect(badPort.stderr).toContain('PORT');
    const badKey = await run(['tenants', 'list'], { PRESTABOT_ENCRYPTION_KEY: 'too-short-secret' });
    expect(badKey.code).toBe(2);
    expect(badKey.stderr).toContain('PRESTABOT_ENCRYPTION_KEY');
    expect(badKey.stderr).not.toContain('too-short-secret');
  });

  it('says what is wrong, exit 1, for a number already taken or nobody has', async () => {
    const again = await run(['tenants', 'add', '--name', 'Otra', ...numberArgs(numberA, tokenA)]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`phone_number_id ${numberA} is already registered`);
    const nobody = await run(['tenants', 'rotate-token', '--phone-number-id', '999', '--access-token', 'x']);
    expect(nobody.code).toBe(1);
    expect(nobody.stderr).toContain('no tenant has phone_number_id 999');
    const noTenant = await run([
      'numbers',
      'add',
      '--tenant',
      '00000000-0000-4000-8000-0000000000ff',
      ...numberArgs(numberB, tokenB),
    ]);
    expect(noTenant.code).toBe(1);
  });

  it('adds a second number, rotates a token, configures the tenant and registers a template', async () => {
    const added = await run([
      'numbers',
      'add',
      '--tenant',
      tenantA,
      ...numberArgs(numberB, 'EAAG-old', '--rate', '20'),
    ]);
    expect(added).toMatchObject({ code: 0, stdout: `${numberB}\n` });
    expect(
      await run(['tenants', 'rotate-token', '--phone-number-id', numberB, '--access-token', tokenB]),
    ).toMatchObject({ code: 0 });
    expect((await run(['tenants', 'list'])).stdout).toContain(`SET (${tokenB.length} chars)`);
    const configured = await run([
      'tenants',
      'configure',
      '--tenant',
      tenantA,
      '--profile-flow-id',
      '123456',
      '--reminder-hour',
      '18',
    ]);
    expect(configured.code).toBe(0);
    expect(JSON.parse(configured.stdout)).toMatchObject({ profileFlowId: '123456', reminderSendHour: 18 });
    const template = await run([
      'templates',
      'add',
      '--tenant',
      tenantA,
      '--purpose',
      'loan_reminder',
      '--name',
      'recordatorio',
      '--language',
      'es_CL',
      '--parameters',
      'message',
      '--quick-replies',
      'claim_returned',
    ]);
    expect(template.code).toBe(0);
    expect((await run(['templates', 'list', '--tenant', tenantA])).stdout).toContain(
      'loan_reminder  recordatorio  es_CL',
    );
  });

  it('makes a Flows key per number, uploads it with the number token, and reports it', async () => {
    expect((await run(['flows', 'register-key', '--phone-number-id', numberA])).stderr).toContain(
      'has no Flows key',
    );
    const generated = await run(['flows', 'keygen', '--phone-number-id', numberA]);
    expect(generated.code).toBe(0);
    expect(generated.stdout).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    expect(generated.stdout).not.toContain('PRIVATE');
    expect((await run(['flows', 'key-status', '--phone-number-id', numberA])).stdout).toContain(
      'Meta holds no key for this number',
    );
    const registered = await run(['flows', 'register-key', '--phone-number-id', numberA]);
    expect(registered.code).toBe(0);
    expect(fake.businessPublicKey(numberA)?.replace(/\s/g, '')).toBe(generated.stdout.replace(/\s/g, ''));
    const status = await run(['flows', 'key-status', '--phone-number-id', numberA]);
    expect(status.stdout).toMatch(/^[0-9a-f]{16} {2}number {2}current\n/);
    expect(status.stdout).toContain('Meta holds the current key');
    const json = JSON.parse((await run(['flows', 'print-json'])).stdout);
    expect(json).toMatchObject({
      version: expect.stringMatching(/^[67]\./),
      screens: [expect.objectContaining({ id: 'PROFILE' })],
    });
  });

  it('prints its version', async () => {
    expect(await run(['--version'])).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^\d+\.\d+\.\d+\n$/),
    });
  });

  it('takes a token from a file or standard input, off the command line, and lists templates as JSON', async () => {
    const file = join(dataDir, 'token');
    const fromFile = 'EAAG-from-a-file-0123456789';
    await writeFile(file, `${fromFile}\n`);
    const rotate = ['tenants', 'rotate-token', '--phone-number-id', numberB];
    expect(await run([...rotate, '--access-token-file', file])).toMatchObject({ code: 0 });
    expect((await run(['tenants', 'list'])).stdout).toContain(`SET (${fromFile.length} chars)`);
    expect(await run([...rotate, '--access-token', '-'], {}, `${tokenB}\n`)).toMatchObject({ code: 0 });
    expect((await run(['tenants', 'list'])).stdout).toContain(`SET (${tokenB.length} chars)`);
    const neither = await run(rotate);
    expect(neither.code).toBe(2);
    expect(neither.stderr).toContain('--access-token-file <path> is required');
    const both = await run([...rotate, '--access-token', tokenB, '--access-token-file', file]);
    expect(both.code).toBe(2);
    const missing = await run([...rotate, '--access-token-file', join(dataDir, 'nothing-here')]);
    expect(missing).toMatchObject({ code: 2, stderr: expect.stringContaining('cannot be read: ENOENT') });
    const listed = await run(['templates', 'list', '--tenant', tenantA, '--json']);
    expect(JSON.parse(listed.stdout.split('\n')[0]!)).toMatchObject({
      purpose: 'loan_reminder',
      name: 'recordatorio',
    });
  });

  it('doctor passes a sound deployment and fails, with the fix, a key Meta does not hold', async () => {
    const sound = await run(['doctor']);
    expect(sound.stdout).toContain('all checks passed');
    expect(sound.code).toBe(0);
    // One URL for everything: the runtime login can leave row-level security, which is only a warning.
    if (database !== undefined) expect(sound.stdout).toMatch(/^! DATABASE_URL logs in as postgres,/m);
    expect(sound.stdout).toContain(`number ${numberA}: Flows key`);
    expect(sound.stdout).toContain(`number ${numberB}: no Flows key`);
    await run(['flows', 'keygen', '--phone-number-id', numberA]);
    const stale = await run(['doctor']);
    expect(stale.code).toBe(1);
    expect(stale.stdout).toContain('Meta holds another key');
    expect(stale.stdout).toContain(`fix: run: prestabot flows register-key --phone-number-id ${numberA}`);
    expect(stale.stdout).not.toContain(tokenA);
  });

  it.skipIf(serverUrl === undefined)(
    'runs with the runtime login prestabot_app, the admin commands over DATABASE_MIGRATION_URL',
    async () => {
      const runtimeUrl = new URL(database?.url ?? '');
      runtimeUrl.username = 'prestabot_app';
      const twoUrls = { DATABASE_URL: runtimeUrl.toString(), DATABASE_MIGRATION_URL: database?.url ?? '' };
      expect(await run(['migrate'], twoUrls)).toMatchObject({ code: 0, stdout: 'database is up to date\n' });
      const listed = await run(['tenants', 'list'], twoUrls);
      expect(listed.code).toBe(0);
      expect(listed.stdout).toContain(numberA);
      const doctor = await run(['doctor'], twoUrls);
      expect(doctor.stdout).toMatch(/^✓ DATABASE_URL logs in as prestabot_app, which cannot leave/m);
      expect(doctor.stdout).not.toMatch(/^! /m);
      // The runtime login alone cannot run the admin commands, and says what to set.
      const alone = await run(['tenants', 'list'], { DATABASE_URL: runtimeUrl.toString() });
      expect(alone.code).toBe(1);
      expect(alone.stderr).toContain('DATABASE_MIGRATION_URL');
    },
  );

  it('reseals every secret under a new key, after which the old key can go', async () => {
    const newKey = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
    const rotated = {
      PRESTABOT_ENCRYPTION_KEY: newKey,
      PRESTABOT_PREVIOUS_ENCRYPTION_KEYS: env.PRESTABOT_ENCRYPTION_KEY ?? '',
    };
    const first = await run(['secrets', 'reseal'], rotated);
    expect(first).toMatchObject({ code: 0, stderr: '' });
    const count = Number(/^resealed (\d+) secret\(s\), 0 already current\n$/.exec(first.stdout)?.[1]);
    expect(count).toBeGreaterThanOrEqual(4);
    expect((await run(['secrets', 'reseal'], rotated)).stdout).toBe(
      `resealed 0 secret(s), ${count} already current\n`,
    );
    const newKeyOnly = await run(['doctor'], { PRESTABOT_ENCRYPTION_KEY: newKey });
    expect(newKeyOnly.stdout).toContain(`number ${numberA} (Préstamos Ana): token SET`);
    expect(newKeyOnly.stdout).not.toContain('cannot be opened');
    const lost = await run(['secrets', 'reseal'], {
      PRESTABOT_ENCRYPTION_KEY: btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32)))),
    });
    expect(lost.code).toBe(1);
    expect(lost.stderr).toMatch(/^error: whatsapp_numbers\.token of tenant .* cannot be opened/m);
    expect(`${lost.stdout}${lost.stderr}`).not.toContain(tokenA);
  });
});
