import type { InboundResponder } from '@prestabot/application';
import {
  createInMemoryApp,
  encodeBatch,
  expectOk,
  inboundText,
  JsonBatchParser,
  TestSignatureVerifier,
  testSignature,
} from '@prestabot/application/testing';
import { errAsync, okAsync } from '@prestabot/domain';
import { describe, expect, it } from 'vitest';
import { defaultInboxWorkerOptions, InboxWorker } from './inbox-worker.ts';

const secret = 'worker-secret';

const setup = (responders: InboundResponder[] = [], maxAttempts = 3) => {
  const app = createInMemoryApp({
    verifier: new TestSignatureVerifier(),
    parser: new JsonBatchParser(),
    deploymentAppSecret: secret,
    responders,
  });
  let repliesQueued = 0;
  const worker = new InboxWorker(
    {
      inboxQueue: app.database.inboxQueue,
      processInboxEntry: app.processInboxEntry,
      unitOfWork: app.database.unitOfWork,
      clock: app.clock,
      logger: app.logger,
      metrics: app.metrics,
      onRepliesQueued: () => {
        repliesQueued += 1;
      },
    },
    { ...defaultInboxWorkerOptions, owner: 'test-worker', idlePollMs: 5, maxAttempts },
  );
  const deliver = async (...items: Parameters<typeof encodeBatch>[0]) => {
    const output = await expectOk(
      app.ingestWebhook.execute({ rawBody: encodeBatch(items), signature: testSignature(secret) }),
    );
    return output.recorded.flatMap((tenant) => tenant.entryIds);
  };
  return { app, worker, deliver, repliesQueued: () => repliesQueued };
};

describe('InboxWorker', () => {
  it('processes what a webhook just stored and tells the sender there are replies', async () => {
    const { app, worker, deliver, repliesQueued } = setup();
    await app.addTenant('1001', 'token-a');
    const ids = await deliver(
      inboundText('1001', '56911111111', 'hola'),
      inboundText('1001', '56922222222', 'hola'),
    );
    await worker.processNow(ids);
    expect([...app.database.snapshot().inbox.values()].every((row) => row.processedAt !== undefined)).toBe(
      true,
    );
    expect(app.database.snapshot().outbox.size).toBe(2);
    expect(repliesQueued()).toBe(2);
  });

  it('hands a failing entry back with a delay, and abandons it, logged, after the last attempt', async () => {
    const exploding: InboundResponder = {
      respond: () =>
        okAsync(undefined).map(() => {
          throw new Error('responder bug');
        }),
    };
    const { app, worker, deliver } = setup([exploding], 3);
    await app.addTenant('1001', 'token-a');
    const [id] = await deliver(inboundText('1001', '56911111111', 'hola'));
    await worker.processNow([id!]);
    const row = () => app.database.snapshot().inbox.get(id!)!;
    expect(row()).toMatchObject({ attempts: 1, lastError: 'responder bug' });
    expect(row().processedAt).toBeUndefined();
    await worker.processNow([id!]);
    expect(row().attempts).toBe(1);
    for (let attempt = 2; attempt <= 3; attempt += 1) {
      app.clock.advance(10 * 60_000);
      await worker.processNow([id!]);
    }
    expect(row()).toMatchObject({ attempts: 3, abandoned: true });
    expect(app.logger.at('error').some((line) => line.message.includes('abandoned after 3 attempts'))).toBe(
      true,
    );
    expect(app.database.snapshot().outbox.size).toBe(0);
  });

  it('retries storage failures instead of losing the entry', async () => {
    let failures = 1;
    const flaky: InboundResponder = {
      respond: () =>
        failures-- > 0
          ? errAsync({ type: 'storage_error', reason: 'retryable', message: 'deadlock' } as const)
          : okAsync(undefined),
    };
    const { app, worker, deliver } = setup([flaky]);
    await app.addTenant('1001', 'token-a');
    const [id] = await deliver(inboundText('1001', '56911111111', 'hola'));
    await worker.processNow([id!]);
    expect(app.database.snapshot().inbox.get(id!)?.processedAt).toBeUndefined();
    app.clock.advance(60_000);
    await worker.processNow([id!]);
    expect(app.database.snapshot().inbox.get(id!)?.processedAt).toBeDefined();
    expect(app.database.snapshot().outbox.size).toBe(1);
  });

  it('picks up, in its loop, what nobody told it about, and stops cleanly', async () => {
    const { app, worker, deliver } = setup();
    await app.addTenant('1001', 'token-a');
    await deliver(inboundText('1001', '56911111111', 'hola'));
    worker.start();
    await expect
      .poll(() => [...app.database.snapshot().inbox.values()].every((row) => row.processedAt !== undefined), {
        timeout: 2000,
      })
      .toBe(true);
    await worker.stop();
    expect(app.metrics.gauge('queue_depth', { queue: 'inbox' })).toBe(0);
  });
});
