import type { FakeGraph } from '@prestabot/fake-graph';
import type { TestDeployment } from './deployment.ts';
import type { StartedHost } from './host-process.ts';

/** The deployment and the host running on it, both set before the first case of the contract runs. */
export type ContractSession = { deployment: TestDeployment; running: StartedHost };

export const text = (from: string, body: string) => ({ type: 'text' as const, body, from });

export const repliesTo = (fake: FakeGraph, phoneNumberId: string) => fake.accepted(phoneNumberId);

/** Polls `condition` until it holds, failing with `what` after `timeoutMs`. */
export const waitFor = async (
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
};
