#!/usr/bin/env node

import { parseArgs } from 'node:util';
import { defined } from '@prestabot/domain';
import { startFakeGraph } from './fake-graph.ts';
import type { FakeNumberConfig } from './numbers.ts';

const usage =
  'usage: fake-graph [--host 127.0.0.1] [--port 0] --number <phone_number_id>:<token>[:<rate>[:<waba_id>]] … ' +
  '[--webhook-url URL --app-secret SECRET] [--auto-statuses <stepMs> [--status-per-webhook]] [--throttling-status 429|400] [--no-pair-limit]';

/** One line naming the bad value and the expected form; exit status 2. */
const fail = (problem: string): never => {
  process.stderr.write(`fake-graph: ${problem}\n${usage}\n`);
  process.exit(2);
};

/** Graph object ids (numbers, WABAs) are digits. */
const graphId = /^[0-9]{1,32}$/;

const numberOf = (value: string): FakeNumberConfig => {
  const [phoneNumberId = '', accessToken = '', rate, wabaId] = value.split(':');
  if (!graphId.test(phoneNumberId) || accessToken === '') {
    fail(`--number ${JSON.stringify(value)} must be <phone_number_id>:<token>[:<rate>[:<waba_id>]]`);
  }
  const ratePerSecond = rate === undefined || rate === '' ? undefined : Number(rate);
  if (
    ratePerSecond !== undefined &&
    !(Number.isInteger(ratePerSecond) && ratePerSecond >= 1 && ratePerSecond <= 1000)
  ) {
    fail(`the rate in --number ${phoneNumberId}:…:${rate} must be a whole number from 1 to 1000`);
  }
  if (wabaId !== undefined && !graphId.test(wabaId))
    fail(`the WABA id in --number ${phoneNumberId}:…:${wabaId} must be digits`);
  return { phoneNumberId, accessToken, ...defined({ ratePerSecond, wabaId }) };
};

const wholeNumber = (
  option: string,
  value: string | undefined,
  min: number,
  max: number,
): number | undefined => {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  return Number.isInteger(parsed) && parsed >= min && parsed <= max
    ? parsed
    : fail(`--${option} ${JSON.stringify(value)} must be a whole number from ${min} to ${max}`);
};

const parsed = (() => {
  try {
    return parseArgs({
      options: {
        host: { type: 'string', default: '127.0.0.1' },
        port: { type: 'string', default: '0' },
        number: { type: 'string', multiple: true, default: [] },
        'webhook-url': { type: 'string' },
        'app-secret': { type: 'string' },
        'auto-statuses': { type: 'string' },
        'status-per-webhook': { type: 'boolean', default: false },
        'throttling-status': { type: 'string', default: '429' },
        'no-pair-limit': { type: 'boolean', default: false },
      },
      strict: true,
    }).values;
  } catch (error) {
    return fail(error instanceof Error ? error.message : String(error));
  }
})();

const webhookUrl = parsed['webhook-url'];
const appSecret = parsed['app-secret'];
if ((webhookUrl === undefined) !== (appSecret === undefined))
  fail('--webhook-url and --app-secret go together');
if (webhookUrl !== undefined && !URL.canParse(webhookUrl))
  fail(`--webhook-url ${JSON.stringify(webhookUrl)} must be a URL`);
const throttlingStatus = parsed['throttling-status'];
if (throttlingStatus !== '429' && throttlingStatus !== '400') {
  fail(`--throttling-status ${JSON.stringify(throttlingStatus)} must be 429 or 400`);
}
const autoStatusStepMs = wholeNumber('auto-statuses', parsed['auto-statuses'], 0, 600_000);

const fake = await startFakeGraph({
  host: parsed.host,
  port: wholeNumber('port', parsed.port, 0, 65_535) ?? 0,
  numbers: parsed.number.map(numberOf),
  throttlingHttpStatus: throttlingStatus === '400' ? 400 : 429,
  ...(parsed['no-pair-limit'] ? { pairLimit: false as const } : {}),
  ...(webhookUrl === undefined || appSecret === undefined ? {} : { webhook: { url: webhookUrl, appSecret } }),
  ...(autoStatusStepMs === undefined
    ? {}
    : { autoStatuses: { stepMs: autoStatusStepMs, separately: parsed['status-per-webhook'] } }),
});

process.stdout.write(
  `${JSON.stringify({ url: fake.url, numbers: fake.numbers().map((number) => number.phoneNumberId) })}\n`,
);

const shutdown = () => {
  void fake.close().then(() => process.exit(0));
};
process.once('SIGINT', shutdown);
process.once('SIGTERM', shutdown);
