import type { NumberSyncOutcome } from '@prestabot/application';
import { defined, describeMessagingLimit } from '@prestabot/domain';

/** One line per number (`--json`: one JSON object per line); the exit code is 1 when any number failed. */
export const reportSyncOutcomes = (
  outcomes: readonly NumberSyncOutcome[],
  json: boolean,
  write: (line: string) => void,
): number => {
  for (const outcome of outcomes) write(json ? JSON.stringify(jsonOf(outcome)) : textOf(outcome));
  if (outcomes.length === 0 && !json) write('no numbers registered: nothing to sync');
  return outcomes.some((outcome) => !outcome.synced) ? 1 : 0;
};

const jsonOf = (outcome: NumberSyncOutcome) => {
  const { tenantId, phoneNumberId } = outcome;
  if (!outcome.synced) return { tenantId, phoneNumberId, synced: false, reason: outcome.reason };
  const { view, ratePerSecond, ratePinned } = outcome;
  return {
    tenantId,
    phoneNumberId,
    synced: true,
    // null: unlimited, as the database stores it.
    messagingLimit: view.messagingLimit === 'unlimited' ? null : view.messagingLimit,
    qualityRating: view.qualityRating,
    throughputLevel: view.throughputLevel,
    ratePerSecond,
    ratePinned,
    ...defined({ businessPortfolioId: view.businessPortfolioId }),
    ...defined({ nameStatus: view.nameStatus }),
    ...defined({ verifiedName: view.verifiedName }),
  };
};

const textOf = (outcome: NumberSyncOutcome): string => {
  if (!outcome.synced) return `✗ ${outcome.phoneNumberId}: ${outcome.reason}`;
  const { view, ratePerSecond, ratePinned } = outcome;
  return [
    `✓ ${outcome.phoneNumberId}:`,
    `limit ${describeMessagingLimit(view)}`,
    `quality ${view.qualityRating}`,
    `throughput ${view.throughputLevel}`,
    `rate ${ratePerSecond}/s${ratePinned ? ' (pinned by --rate)' : ''}`,
    ...(view.businessPortfolioId === undefined ? [] : [`portfolio ${view.businessPortfolioId}`]),
    ...(view.verifiedName === undefined ? [] : [`name "${view.verifiedName}" (${view.nameStatus ?? '?'})`]),
  ].join(' ');
};
