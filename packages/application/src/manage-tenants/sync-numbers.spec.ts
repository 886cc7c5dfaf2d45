import {
  errAsync,
  type MetaNumberView,
  okAsync,
  type PhoneNumberId,
  type ResultAsync,
  type WabaId,
} from '@prestabot/domain';
import { describe, expect, it } from 'vitest';
import type { SendFailure } from '../ports/messaging-gateway.port.ts';
import type { MetaNumberReader } from '../ports/meta-number-reader.port.ts';
import { NumberAccessTokens } from '../send-reply/send-reply.ts';
import {
  createInMemoryApp,
  expectErr,
  expectOk,
  FakeSecretCipher,
  JsonBatchParser,
  RecordingMetrics,
  TestSignatureVerifier,
} from '../testing/index.ts';
import { SyncNumbers } from './sync-numbers.ts';

const high: MetaNumberView = { messagingLimit: 2000, qualityRating: 'GREEN', throughputLevel: 'HIGH' };

/** Meta as a table: each number's view for its token, or the failure Graph answers. */
class ScriptedMeta implements MetaNumberReader {
  readonly views = new Map<string, MetaNumberView | SendFailure>();
  readonly reads: { phoneNumberId: PhoneNumberId; wabaId: WabaId; accessToken: string }[] = [];

  read(
    number: { readonly phoneNumberId: PhoneNumberId; readonly wabaId: WabaId },
    accessToken: string,
  ): ResultAsync<MetaNumberView, SendFailure> {
    this.reads.push({ ...number, accessToken });
    const view = this.views.get(number.phoneNumberId);
    if (view === undefined) return errAsync({ type: 'send_rejected', code: 100, title: 'unknown number' });
    return 'type' in view ? errAsync(view) : okAsync(view);
  }
}

const setup = () => {
  const app = createInMemoryApp({ verifier: new TestSignatureVerifier(), parser: new JsonBatchParser() });
  const meta = new ScriptedMeta();
  const sync = new SyncNumbers({
    directory: app.database.directory,
    unitOfWork: app.database.unitOfWork,
    tokens: new NumberAccessTokens({
      unitOfWork: app.database.unitOfWork,
      cipher: new FakeSecretCipher(),
      logger: app.logger,
      metrics: new RecordingMetrics(),
    }),
    reader: meta,
    clock: app.clock,
    logger: app.logger,
  });
  return { app, meta, sync };
};

describe('SyncNumbers', () => {
  it("reads each number with its own token, stores Meta's view, and follows the throughput unless --rate pinned it", async () => {
    const { app, meta, sync } = setup();
    const tenant = await app.addTenant('1065403522429', 'EAAG-token-of-a');
    await expectOk(
      app.manageTenants.addNumber(tenant, {
        phoneNumberId: '1065403522430',
        accessToken: 'EAAG-token-of-b',
        wabaId: '102290129340398',
        ratePerSecond: 20,
      }),
    );
    meta.views.set('1065403522429', high);
    meta.views.set('1065403522430', { ...high, messagingLimit: 'unlimited' });
    const outcomes = await expectOk(sync.sync());
    expect(meta.reads.map((read) => read.accessToken)).toEqual(['EAAG-token-of-a', 'EAAG-token-of-b']);
    expect(outcomes).toEqual([
      {
        tenantId: tenant,
        phoneNumberId: '1065403522429',
        synced: true,
        view: high,
        ratePerSecond: 1000,
        ratePinned: false,
      },
      {
        tenantId: tenant,
        phoneNumberId: '1065403522430',
        synced: true,
        view: { ...high, messagingLimit: 'unlimited' },
        ratePerSecond: 20,
        ratePinned: true,
      },
    ]);
    const rows = await expectOk(app.manageTenants.listTenants());
    expect(
      rows.map((row) => [row.messagingLimit, row.qualityRating, row.throughputLevel, row.ratePerSecond]),
    ).toEqual([
      ['2000/24h', 'GREEN', 'HIGH', 1000],
      ['unlimited', 'GREEN', 'HIGH', 20],
    ]);
  });

  it('reports a number Meta refuses and still syncs the others', async () => {
    const { app, meta, sync } = setup();
    await app.addTenant('1065403522429', 'EAAG-token-of-a');
    await app.addTenant('1065403522431', 'EAAG-token-of-c');
    meta.views.set('1065403522429', {
      type: 'send_token_invalid',
      code: 190,
      title: 'Invalid OAuth access token',
    });
    meta.views.set('1065403522431', high);
    const outcomes = await expectOk(sync.sync());
    expect(outcomes.map((outcome) => [outcome.phoneNumberId, outcome.synced])).toEqual([
      ['1065403522429', false],
      ['1065403522431', true],
    ]);
    expect(outcomes[0]).toMatchObject({ reason: 'Invalid OAuth access token (code 190)' });
  });

  it('syncs one number on request, and names one nobody has', async () => {
    const { app, meta, sync } = setup();
    await app.addTenant('1065403522429', 'EAAG-token-of-a');
    await app.addTenant('1065403522431', 'EAAG-token-of-c');
    meta.views.set('1065403522431', high);
    expect((await expectOk(sync.sync('1065403522431'))).map((outcome) => outcome.phoneNumberId)).toEqual([
      '1065403522431',
    ]);
    expect(await expectErr(sync.sync('999'))).toEqual({ type: 'number_not_found', phoneNumberId: '999' });
    expect(await expectErr(sync.sync('+56 9'))).toMatchObject({
      type: 'invalid_input',
      field: '--phone-number-id',
    });
  });

  it('syncs only the numbers not read for a day', async () => {
    const { app, meta, sync } = setup();
    await app.addTenant('1065403522429', 'EAAG-token-of-a');
    meta.views.set('1065403522429', high);
    expect(await expectOk(sync.syncDue())).toHaveLength(1);
    app.clock.advance(23 * 60 * 60_000);
    expect(await expectOk(sync.syncDue())).toHaveLength(0);
    app.clock.advance(60 * 60_000);
    expect(await expectOk(sync.syncDue())).toHaveLength(1);
  });
});
