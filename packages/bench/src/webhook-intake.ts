#!/usr/bin/env node
// Webhook intake in process (not a test): what `IngestWebhook` costs per webhook before its items reach the
// database — signature check (node:crypto's HMAC, as the Node host uses), parse, routing through the
// directory's cache, the entries — with storing answered at once. No HTTP and no database: the
// acknowledgement benchmark (`end-to-end.js --ack`) measures those; this isolates the use case's own CPU.
//
//   node packages/bench/dist/webhook-intake.js [--webhooks 40000] [--concurrency 64] [--json]

import { parseArgs } from 'node:util';
import { HmacSignatureVerifier, ZodWebhookParser } from '@prestabot/adapters-meta';
import { IngestWebhook, type StoredInboxEntry } from '@prestabot/application';
import { createInMemoryApp } from '@prestabot/application/testing';
import { okAsync, type TenantId } from '@prestabot/domain';
import { nodeHmacSha256, PrometheusMetrics } from '@prestabot/host-express';
import { routingCacheTtlMs, systemClock, timeOrderedIds } from '@prestabot/runtime';
import { commandLine } from './command-line.ts';
import { runFixture } from './end-to-end/fixture.ts';
import { prepareWebhooks } from './end-to-end/load.ts';
import { round } from './end-to-end/sampling.ts';

const usage = 'usage: webhook-intake [--webhooks 40000] [--concurrency 64] [--json]';

const { read, wholeNumber } = commandLine('webhook-intake', usage);
const options = read(
  () =>
    parseArgs({
      options: {
        webhooks: { type: 'string', default: '40000' },
        concurrency: { type: 'string', default: '64' },
        json: { type: 'boolean', default: false },
      },
      strict: true,
    }).values,
);

const webhooks = wholeNumber('--webhooks', options.webhooks, 1000, 2_000_000);
const concurrency = wholeNumber('--concurrency', options.concurrency, 1, 4096);

const fixture = runFixture(100);
// What the Node host verifies and parses with.
const verifier = new HmacSignatureVerifier({ hmac: nodeHmacSha256 });
const parser = new ZodWebhookParser();
const app = createInMemoryApp({
  verifier,
  parser,
  deploymentAppSecret: fixture.appSecret,
  routingCacheTtlMs,
});
const tenantOf = new Map<string, TenantId>();
for (const number of fixture.numbers)
  tenantOf.set(number.phoneNumberId, await app.addTenant(number.phoneNumberId, number.accessToken));

const ingest = new IngestWebhook({
  resolveTenant: app.resolveTenant,
  secrets: app.webhookSecrets,
  accountEvents: { apply: () => okAsync(undefined) },
  // Stored at once: the database's share is the acknowledgement benchmark's to measure.
  intake: {
    store: (entries) =>
      okAsync(
        entries.map(
          (entry): StoredInboxEntry => ({
            outcome: 'stored',
            entry: { ...entry, tenantId: tenantOf.get(entry.phoneNumberId)!, attempts: 0 },
          }),
        ),
      ),
  },
  verifier,
  parser,
  ids: timeOrderedIds,
  clock: systemClock,
  logger: app.logger,
  metrics: new PrometheusMetrics(),
});

const prepared = await prepareWebhooks(fixture, webhooks);

/** Ingests `prepared[from, to)` with `concurrency` at a time; any refusal is a broken benchmark. */
const ingestRange = async (from: number, to: number): Promise<void> => {
  let next = from;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < to) {
        const webhook = prepared[next++]!;
        const result = await ingest.execute({ rawBody: webhook.body, signature: webhook.signature });
        if (result.isErr()) throw new Error(`webhook refused: ${JSON.stringify(result.error)}`);
      }
    }),
  );
};

// The first half warms the code up; the second is measured.
const half = Math.floor(webhooks / 2);
await ingestRange(0, half);
const cpuBefore = process.cpuUsage();
const startedAt = performance.now();
await ingestRange(half, webhooks);
const wallMs = performance.now() - startedAt;
const cpu = process.cpuUsage(cpuBefore);
const measured = webhooks - half;

const result = {
  webhooks: measured,
  concurrency,
  wallMicrosecondsPerWebhook: round((wallMs * 1000) / measured),
  cpuMicrosecondsPerWebhook: round((cpu.user + cpu.system) / measured),
};
if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
else
  process.stdout.write(
    `IngestWebhook in process, ${result.webhooks} webhooks measured, ${concurrency} at a time: ${result.wallMicrosecondsPerWebhook} µs per webhook (wall), ${result.cpuMicrosecondsPerWebhook} µs CPU (all threads, garbage collection included)\n` +
      'SPEC §6 sets no target for this part alone: it is a share of the acknowledgement (≥ 60 % of bare Express), which `end-to-end.js --ack` measures\n',
  );
