import { type Deployment, type DeploymentShape, deploy } from './deployment.ts';
import { fuzzPayloads, seededRandom } from './fuzz.ts';
import { type Answers, deliverAll, postOnce, signedMessages } from './meta.ts';
import type { PostgresCluster } from './postgres-cluster.ts';
import { type AcceptedReply, type Figures, tally } from './tally.ts';

/** How big a run is: CI runs `ci`; `full` is the run the README quotes. */
export type Size = {
  /** Messages per second offered, and for how long. */
  readonly rate: number;
  readonly seconds: number;
  /** Signed mutated payloads and unsigned junk in the bad-input scenario. */
  readonly fuzzSigned: number;
  readonly fuzzUnsigned: number;
  /** After every message is answered, how long to keep watching for late duplicates. */
  readonly settleSeconds: number;
};

export const sizes: Readonly<Record<'ci' | 'full', Size>> = {
  ci: { rate: 25, seconds: 12, fuzzSigned: 2000, fuzzUnsigned: 500, settleSeconds: 12 },
  full: { rate: 50, seconds: 40, fuzzSigned: 5000, fuzzUnsigned: 2000, settleSeconds: 20 },
};

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

type AcceptedJson = { readonly recipient?: { readonly phone?: string }; readonly receivedAt: number };

const repliesOf = async (deployment: Deployment): Promise<AcceptedReply[]> => {
  const lists = await Promise.all(
    deployment.numbers.map(
      async (number) =>
        (await deployment.control('GET', `/_fake/numbers/${number.phoneNumberId}/messages`)) as {
          messages: AcceptedJson[];
        },
    ),
  );
  return lists.flatMap(({ messages }) =>
    messages.flatMap((message) =>
      message.recipient?.phone === undefined
        ? []
        : [{ recipient: message.recipient.phone, receivedAt: message.receivedAt }],
    ),
  );
};

/**
 * Waits until every acknowledged message has a reply, then `settleSeconds` more for late duplicates; or
 * gives up after `timeoutMs`, leaving the unanswered ones lost.
 */
const drain = async (
  deployment: Deployment,
  senders: readonly string[],
  answers: Answers,
  size: Size,
  timeoutMs = 120_000,
): Promise<AcceptedReply[]> => {
  const expected = new Set(
    senders.filter((_, index) => (answers.acknowledgedAt[index] ?? 0) > 0).map((sender) => sender),
  );
  const startedAt = Date.now();
  while (Date.now() - startedAt < timeoutMs) {
    const answered = new Set(
      (await repliesOf(deployment)).map((reply) => reply.recipient.replace(/^\+/, '')),
    );
    if ([...expected].every((sender) => answered.has(sender))) break;
    await sleep(500);
  }
  await sleep(size.settleSeconds * 1000);
  return repliesOf(deployment);
};

/** For a failed run's report: the inbox entry and outbox rows of the first few messages never answered. */
const whatBecameOfLost = async (
  deployment: Deployment,
  senders: readonly string[],
  answers: Answers,
  replies: readonly AcceptedReply[],
): Promise<string[]> => {
  const answered = new Set(replies.map((reply) => reply.recipient.replace(/^\+/, '')));
  const lost = senders.filter(
    (sender, index) => (answers.acknowledgedAt[index] ?? 0) > 0 && !answered.has(sender),
  );
  return Promise.all(
    lost.slice(0, 5).map(async (sender) => {
      const inbox = await deployment.sql(
        `SELECT processed_at, abandoned, attempts, last_error, leased_until, lease_owner
         FROM prestabot.inbox WHERE item -> 'from' ->> 'waId' = $1`,
        [sender],
      );
      const outbox = await deployment.sql(
        `SELECT status, attempts, last_failure, available_at, leased_until, lease_owner, phone_number_id
         FROM prestabot.outbox WHERE recipient_key = $1`,
        [`+${sender}`],
      );
      return `lost ${sender}: inbox ${JSON.stringify(inbox)} outbox ${JSON.stringify(outbox)}`;
    }),
  );
};

type Plan = {
  readonly name: string;
  readonly shape: DeploymentShape;
  /** Faults to inject while the load runs; resolves with when each was injected. */
  readonly faults: (deployment: Deployment, cluster: PostgresCluster, size: Size) => Promise<number[]>;
  readonly toEveryHost?: boolean;
  readonly redeliveryShare?: number;
  /** The measured messages go to the first this many numbers (default: all of them). */
  readonly measuredNumbers?: number;
  /** Runs beside the load; its 5xx count and notes join the figures. */
  readonly beside?: (
    deployment: Deployment,
    size: Size,
  ) => Promise<{ serverErrors: number; notes: string[] }>;
};

const shape = (hosts: number, numbers = 2, ingestOnly = false): DeploymentShape => ({
  hosts,
  workers: 2,
  numbers,
  numberRate: 80,
  ingestOnly,
});

const plans: readonly Plan[] = [
  {
    name: 'crashes',
    // The HTTP process only stores: the workers being killed are the ones that process and send.
    shape: shape(1, 2, true),
    redeliveryShare: 0.3,
    // kill -9 of a worker every 3 s (each comes back at once), and once of the HTTP process.
    faults: async (deployment, _cluster, size) => {
      const times: number[] = [];
      const endAt = Date.now() + size.seconds * 1000;
      const hostCrashAt = Date.now() + (size.seconds * 1000) / 2;
      let hostCrashed = false;
      for (let round = 0; Date.now() < endAt; round += 1) {
        await sleep(3000);
        const worker = deployment.workers[round % deployment.workers.length]!;
        await worker.crash();
        await worker.start();
        if (!hostCrashed && Date.now() >= hostCrashAt) {
          hostCrashed = true;
          const host = deployment.hosts[0]!;
          times.push(Date.now());
          await host.crash();
          await host.start();
        }
      }
      return times;
    },
  },
  {
    name: 'serve-crashes',
    // The HTTP process answers messages in the transaction that stores them: it is the one killed.
    shape: shape(1),
    redeliveryShare: 0.3,
    // kill -9 of the HTTP process every 3 s; it comes back at once.
    faults: async (deployment, _cluster, size) => {
      const times: number[] = [];
      const endAt = Date.now() + size.seconds * 1000;
      while (Date.now() < endAt) {
        await sleep(3000);
        const host = deployment.hosts[0]!;
        times.push(Date.now());
        await host.crash();
        await host.start();
      }
      return times;
    },
  },
  {
    name: 'postgres-restart',
    shape: shape(1),
    faults: async (_deployment, cluster, size) => {
      await sleep((size.seconds * 1000) / 2);
      const at = Date.now();
      await cluster.restart();
      return [at];
    },
  },
  {
    name: 'graph-faults',
    shape: shape(1, 3),
    // Throughout, 20 % of sends get a 5xx and 2 % are accepted but their answer is lost (the outcome is
    // unknown: only the status webhooks tell); a burst of 130429 on one number; a 190 on another, then
    // its token rotated.
    faults: async (deployment, _cluster, size) => {
      const [first, second] = deployment.numbers;
      await deployment.control('PUT', '/_fake/faults', { serverErrorRate: 0.2, lostAnswerRate: 0.02 });
      await sleep(size.seconds * 250);
      await deployment.control('POST', `/_fake/numbers/${first!.phoneNumberId}/fail-next`, {
        code: 130429,
        count: 40,
      });
      await sleep(size.seconds * 150);
      await deployment.control('POST', `/_fake/numbers/${second!.phoneNumberId}/expire-token`);
      await sleep(size.seconds * 300);
      const rotatedAt = Date.now();
      const fresh = `EAArotated${crypto.randomUUID().replaceAll('-', '')}`;
      await deployment.control('POST', `/_fake/numbers/${second!.phoneNumberId}/token`, {
        accessToken: fresh,
      });
      await deployment.cli(
        'tenants',
        'rotate-token',
        '--phone-number-id',
        second!.phoneNumberId,
        '--access-token',
        fresh,
      );
      return [rotatedAt];
    },
  },
  {
    name: 'bad-input',
    // The fuzzed payloads go to a number of their own: the replies to those that still read as messages
    // would otherwise queue ahead of the measured ones within the numbers' 80 messages/s.
    shape: shape(1, 3),
    measuredNumbers: 2,
    faults: async () => [],
    beside: async (deployment, size) => {
      const random = seededRandom(Number(process.env.FAULTS_SEED ?? 20261204));
      const payloads = await fuzzPayloads(
        deployment.numbers.slice(2).map((number) => number.phoneNumberId),
        deployment.appSecret,
        { signed: size.fuzzSigned, unsigned: size.fuzzUnsigned },
        random,
      );
      const signed = await postOnce(
        deployment.hostUrls[0]!,
        payloads.filter((payload) => payload.signed),
        16,
      );
      const unsigned = await postOnce(
        deployment.hostUrls[0]!,
        payloads.filter((payload) => !payload.signed),
        16,
      );
      const serverErrors = [...signed, ...unsigned]
        .filter(([status]) => status >= 500 || status === 0)
        .reduce((sum, [, times]) => sum + times, 0);
      const describe = (byStatus: Map<number, number>) =>
        [...byStatus]
          .sort(([a], [b]) => a - b)
          .map(([status, times]) => `${status}×${times}`)
          .join(' ');
      return {
        serverErrors,
        notes: [
          `${size.fuzzSigned} signed mutated payloads: ${describe(signed)}`,
          `${size.fuzzUnsigned} unsigned: ${describe(unsigned)}`,
        ],
      };
    },
  },
  {
    name: 'concurrency',
    shape: shape(2),
    toEveryHost: true,
    faults: async () => [],
  },
];

export const scenarioNames = plans.map((plan) => plan.name);

/** One scenario on a fresh database: deploy, load with faults, drain, count. */
export const runScenario = async (name: string, cluster: PostgresCluster, size: Size): Promise<Figures> => {
  const plan = plans.find((candidate) => candidate.name === name);
  if (plan === undefined) throw new Error(`no scenario ${name}; there are ${scenarioNames.join(', ')}`);
  const deployment = await deploy(cluster, name, plan.shape);
  try {
    const messages = await signedMessages(
      deployment.numbers.slice(0, plan.measuredNumbers).map((number) => number.phoneNumberId),
      size.rate * size.seconds,
      deployment.appSecret,
    );
    const [answers, faultTimes, beside] = await Promise.all([
      deliverAll(messages, {
        hostUrls: deployment.hostUrls,
        rate: size.rate,
        redeliveryShare: plan.redeliveryShare ?? 0,
        giveUpAfterMs: 90_000,
        toEveryHost: plan.toEveryHost ?? false,
      }),
      plan.faults(deployment, cluster, size),
      plan.beside?.(deployment, size),
    ]);
    const senders = messages.map((message) => message.sender);
    const replies = await drain(deployment, senders, answers, size);
    const lostNotes = await whatBecameOfLost(deployment, senders, answers, replies);
    return tally({
      scenario: name,
      senders,
      firstPostAt: answers.firstPostAt,
      acknowledgedAt: answers.acknowledgedAt,
      replies,
      byStatus: answers.byStatus,
      faultTimes,
      fuzzServerErrors: beside?.serverErrors ?? 0,
      notes: [...(beside?.notes ?? []), ...lostNotes],
    });
  } catch (error) {
    throw new Error(
      `${name}: ${error instanceof Error ? error.message : String(error)}\n${deployment.output()}`,
    );
  } finally {
    await deployment.stop();
  }
};
