export * from './fuzz.ts';
export * from './tally.ts';
export * from './verdict.ts';
