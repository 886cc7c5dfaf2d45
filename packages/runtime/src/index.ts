export * from './config.ts';
export * from './http/responses.ts';
export * from './http/web-handler.ts';
export * from './wiring.ts';
export * from './worker/inbox-worker.ts';
export * from './worker/wake-up.ts';
