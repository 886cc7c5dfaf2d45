import { afterAll, beforeAll, describe } from 'vitest';
import type { ContractSession } from './contract-session.ts';
import { prepareDeployment } from './deployment.ts';
import { flowsCases } from './flows-cases.ts';
import type { HostUnderTest } from './host-process.ts';
import { webhookCases } from './webhook-cases.ts';

/** A real PostgreSQL for the hosts; CI sets it, and the suite says why it skips without one. */
const serverUrl = process.env.TEST_DATABASE_URL;

/**
 * What Meta and operators can rely on from either host, checked against it running as a real process
 * on real PostgreSQL, with the fake Graph API delivering signed webhooks and taking the replies.
 */
export const describeHttpContract = (host: HostUnderTest): void => {
  describe.skipIf(serverUrl === undefined)(
    `HTTP contract: ${host.name}${serverUrl === undefined ? ' (skipped: TEST_DATABASE_URL is not set)' : ''}`,
    () => {
      // Filled in by beforeAll, before any case reads it.
      const session = {} as ContractSession;

      beforeAll(async () => {
        session.deployment = await prepareDeployment(serverUrl!);
        session.running = await host.start(session.deployment.env);
      }, 180_000);

      afterAll(async () => {
        await session.running?.stop();
        await session.deployment?.close();
      }, 60_000);

      webhookCases(session);
      flowsCases(session);
    },
  );
};
