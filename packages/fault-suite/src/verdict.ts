import type { Figures } from './tally.ts';

/** Duplicates allowed: a crash between Graph accepting a send and its outcome being recorded may repeat it. */
export const duplicateShareAllowed = 0.001;

/**
 * What a scenario's figures break, in words (none: it passes). A 503 while the database is down is the
 * answer SPEC §5 asks for, so it is not held against the database-restart scenario.
 */
export const verdictOf = (figures: Figures): string[] => [
  ...(figures.lost > 0 ? [`${figures.lost} lost`] : []),
  ...(figures.fuzzServerErrors > 0 ? [`${figures.fuzzServerErrors} 5xx to fuzzed payloads`] : []),
  ...(figures.serverErrors > 0 && figures.scenario !== 'postgres-restart'
    ? [`${figures.serverErrors} 5xx to signed messages`]
    : []),
  ...(figures.duplicates > Math.floor(duplicateShareAllowed * figures.messages)
    ? [`${figures.duplicates} duplicates (> ${duplicateShareAllowed * 100} %)`]
    : []),
];
