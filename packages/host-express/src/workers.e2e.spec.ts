import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expectOk, maxInAnySecond, textOutboxEntry } from '@prestabot/application/testing';
import type { E164, PhoneNumberId, TenantId } from '@prestabot/domain';
import {
  prepareDeployment,
  type StartedHost,
  spawnHost,
  type TestDeployment,
} from '@prestabot/http-contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const serverUrl = process.env.TEST_DATABASE_URL;
const workerReady = /worker running/;

const waitFor = async (
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 60_000,
): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};

describe.skipIf(serverUrl === undefined)(
  `workers on real PostgreSQL${serverUrl === undefined ? ' (skipped: TEST_DATABASE_URL is not set)' : ''}`,
  () => {
    let deployment: TestDeployment;
    const running: StartedHost[] = [];
    const start = async (...args: string[]) => {
      const host = await spawnHost(
        process.execPath,
        [cli, ...args],
        deployment.env,
        args[0] === 'worker' ? workerReady : undefined,
      );
      running.push(host);
      return host;
    };

    beforeAll(async () => {
      deployment = await prepareDeployment(serverUrl!);
    }, 180_000);

    afterAll(async () => {
      for (const host of running) await host.stop();
      await deployment?.close();
    }, 60_000);

    it('loses nothing and answers every message once when the worker is killed mid-run and restarted', async () => {
      const [a, b] = deployment.tenants;
      await start('serve', '--no-worker');
      const worker = await start('worker');
      const senders = Array.from({ length: 40 }, (_, index) => `5691234${String(index).padStart(4, '0')}`);
      const items = senders.map((waId, index) => ({
        kind: 'message' as const,
        phoneNumberId: (index % 2 === 0 ? a : b).phoneNumberId,
        from: { waId },
        content: { type: 'text' as const, body: 'hola' },
      }));
      const delivered = await deployment.fake.emitWebhook(items);
      expect(delivered.every((delivery) => delivery.attempts.at(-1)?.status === 200)).toBe(true);
      const replies = () => [
        ...deployment.fake.accepted(a.phoneNumberId),
        ...deployment.fake.accepted(b.phoneNumberId),
      ];
      await waitFor('the first replies', () => replies().length >= 5, 30_000);
      await worker.kill();
      const atCrash = replies().length;
      // Sends that Graph had taken but the dead worker had not yet recorded may go out again: at-least-once.
      const inFlightAtCrash = Number(
        (
          await deployment.sql(
            "SELECT count(*) AS n FROM prestabot.outbox WHERE status = 'pending' AND leased_until IS NOT NULL",
          )
        )[0]?.n,
      );
      await start('worker');
      await waitFor(
        'every reply',
        () => new Set(replies().map((reply) => JSON.stringify(reply.recipient))).size === senders.length,
        90_000,
      );
      const perRecipient = new Map<string, number>();
      for (const reply of replies())
        perRecipient.set(
          JSON.stringify(reply.recipient),
          (perRecipient.get(JSON.stringify(reply.recipient)) ?? 0) + 1,
        );
      expect(perRecipient.size).toBe(senders.length);
      const duplicated = [...perRecipient.values()].filter((count) => count > 1).length;
      expect(duplicated).toBeLessThanOrEqual(inFlightAtCrash);
      expect(atCrash).toBeLessThan(senders.length);
      const inbox = await deployment.sql(
        'SELECT count(*) FILTER (WHERE processed_at IS NOT NULL) AS done, count(*) AS total FROM prestabot.inbox',
      );
      expect(inbox[0]).toEqual({ done: String(senders.length), total: String(senders.length) });
      // One reply decided per message, however often processing was attempted: queued, or sent and left
      // the queue for the message log.
      const decided = await deployment.sql(
        `SELECT count(*) AS n FROM (SELECT id::text FROM prestabot.outbox
                                    UNION SELECT outbox_id FROM prestabot.messages WHERE direction = 'outbound') reply`,
      );
      expect(Number(decided[0]?.n)).toBe(senders.length);
    }, 180_000);

    it('bills from what Meta priced: `prestabot usage` counts each reply once, on its number, as its statuses said', async () => {
      const [a, b] = deployment.tenants;
      const sent = (phoneNumberId: string) =>
        deployment.fake
          .accepted(phoneNumberId)
          .flatMap((reply) => (reply.wamid === undefined ? [] : [reply.wamid]));
      const replies = [...sent(a.phoneNumberId), ...sent(b.phoneNumberId)];
      // Every status of a message repeats its pricing: `sent`, `delivered` and `read` count once.
      const delivered = await deployment.fake.emitWebhook(
        replies.flatMap((wamid) => [
          { kind: 'status' as const, wamid, status: 'sent' as const },
          { kind: 'status' as const, wamid, status: 'delivered' as const },
          { kind: 'status' as const, wamid, status: 'read' as const },
        ]),
      );
      expect(delivered.every((delivery) => delivery.attempts.at(-1)?.status === 200)).toBe(true);
      const usage = await new Promise<string>((resolve, reject) =>
        execFile(process.execPath, [cli, 'usage', '--json'], { env: deployment.env }, (error, stdout) =>
          error === null ? resolve(stdout) : reject(error),
        ),
      );
      const rows = usage
        .trim()
        .split('\n')
        .map(
          (line) =>
            JSON.parse(line) as {
              phoneNumberId: string;
              category: string;
              billable: boolean;
              messages: number;
            },
        )
        .filter((row) => row.phoneNumberId === a.phoneNumberId || row.phoneNumberId === b.phoneNumberId);
      // Free-form replies inside the customer-service window: free service messages, as the fake prices them.
      expect(rows).toEqual(
        expect.arrayContaining(
          [a, b].map((number) =>
            expect.objectContaining({
              phoneNumberId: number.phoneNumberId,
              category: 'service',
              billable: false,
              messages: sent(number.phoneNumberId).length,
            }),
          ),
        ),
      );
      expect(rows).toHaveLength(2);
    }, 120_000);

    it('keeps a number under its rate in every second with two worker processes, and close to it', async () => {
      const [a] = deployment.tenants;
      await deployment.sql(
        // Pinned, as `--rate` pins it: the worker's daily sync with Meta leaves it.
        'UPDATE prestabot.whatsapp_numbers SET rate_per_second = 20, rate_pinned = true WHERE phone_number_id = $1',
        [a.phoneNumberId],
      );
      deployment.fake.registerNumber({
        phoneNumberId: a.phoneNumberId,
        accessToken: a.accessToken,
        ratePerSecond: 20,
      });
      deployment.fake.clearRecords();
      for (const host of running.splice(0)) await host.stop();
      const backlog = Array.from({ length: 120 }, (_, index) =>
        textOutboxEntry(a.phoneNumberId as PhoneNumberId, {
          to: `+5699${String(index).padStart(7, '0')}` as E164,
          at: new Date(),
        }),
      );
      await expectOk(
        deployment.storage.unitOfWork.run(a.tenantId as TenantId, (r) => r.outbox.enqueue(backlog)),
      );
      await Promise.all([start('worker'), start('worker')]);
      await waitFor(
        'the backlog',
        () => deployment.fake.accepted(a.phoneNumberId).length >= backlog.length,
        90_000,
      );
      const times = deployment.fake.accepted(a.phoneNumberId).map((message) => new Date(message.receivedAt));
      expect(maxInAnySecond(times)).toBeLessThanOrEqual(20);
      const spanSeconds = (Math.max(...times.map(Number)) - Math.min(...times.map(Number))) / 1000;
      expect((times.length - 1) / spanSeconds).toBeGreaterThanOrEqual(20 * 0.9);
      // The fake counts arrivals, as Meta does. The slots keep 30 ms of each second for the way there, 10 ms
      // of it for a send leaving late; with two workers, PostgreSQL, the fake and the test on two cores, a
      // request now and then waits longer than the other 20 (one throttled send in 4–5 runs, on the build
      // before 2026-12-06's changes as well). It is retried and delivered once, as the checks above show;
      // more than one would be more than that jitter.
      expect(deployment.fake.stats(a.phoneNumberId).errors['130429'] ?? 0).toBeLessThanOrEqual(1);
    }, 180_000);

    it('serves its metrics and health on --port, and nothing else', async () => {
      const worker = await start('worker', '--port', '0');
      const url = /worker probes listening on (http:\/\/[^\s"]+)/.exec(worker.output())?.[1];
      expect(url).toBeDefined();
      const metrics = await fetch(`${url}/metrics`);
      expect(metrics.status).toBe(200);
      expect(await metrics.text()).toContain('prestabot_');
      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: 'ok' });
      expect((await fetch(`${url}/webhook`, { method: 'POST', body: '{}' })).status).toBe(404);
    }, 60_000);

    it('answers through serve and a worker that log in as prestabot_app, and warns only in single-URL mode', async () => {
      const [a] = deployment.tenants;
      for (const host of running.splice(0)) await host.stop();
      deployment.fake.clearRecords();
      const ownerUrl = deployment.env.DATABASE_URL ?? '';
      const runtimeUrl = new URL(ownerUrl);
      runtimeUrl.username = 'prestabot_app';
      const twoUrls = {
        ...deployment.env,
        DATABASE_URL: runtimeUrl.toString(),
        DATABASE_MIGRATION_URL: ownerUrl,
      };
      const hosts = [
        await spawnHost(process.execPath, [cli, 'serve', '--no-worker'], twoUrls),
        await spawnHost(process.execPath, [cli, 'worker'], twoUrls, workerReady),
      ];
      running.push(...hosts);
      const delivered = await deployment.fake.emitWebhook([
        {
          kind: 'message' as const,
          phoneNumberId: a.phoneNumberId,
          from: { waId: '56977770001' },
          content: { type: 'text' as const, body: 'hola' },
        },
      ]);
      expect(delivered.every((delivery) => delivery.attempts.at(-1)?.status === 200)).toBe(true);
      await waitFor('the reply', () => deployment.fake.accepted(a.phoneNumberId).length >= 1, 30_000);
      for (const host of hosts) expect(host.output()).not.toContain('can leave row-level security');
      const single = await start('worker');
      expect(single.output()).toContain(
        'DATABASE_URL logs in as postgres, which can leave row-level security',
      );
    }, 180_000);
  },
);
