export * from './contracts/index.ts';
export {
  describeMessagingGatewayContract,
  everyMessageType,
  type GatewayHarness,
} from './contracts/messaging-gateway.contract.ts';
export {
  describeSecretCipherContract,
  type SecretCipherHarness,
} from './contracts/secret-cipher.contract.ts';
export { FakeSecretCipher } from './fake-secret-cipher.ts';
export type { InboxEntryView, OutboundMessageView, OutboxMessageView } from './in-memory/inspection.ts';
export { createInMemoryApp, type InMemoryApp, type InMemoryAppOptions } from './in-memory-app.ts';
export { InMemoryDatabase } from './in-memory-database.ts';
export { ManualClock } from './manual-clock.ts';
export { ManualTimers } from './manual-timers.ts';
export { percentile } from './percentile.ts';
export { type AcceptedSend, RecordingGateway, type ScriptedFailure } from './recording-gateway.ts';
export { type LogLine, RecordingLogger } from './recording-logger.ts';
export { RecordingMetrics } from './recording-metrics.ts';
export { recordOneByOne } from './send-records.ts';
export { SequentialIds } from './sequential-ids.ts';
export { StoredFlowTokens } from './stored-flow-tokens.ts';
export { TimedGateway } from './timed-gateway.ts';
export {
  deliveryStatus,
  encodeBatch,
  inboundMessage,
  inboundText,
  JsonBatchParser,
  TestSignatureVerifier,
  testSignature,
} from './webhook-doubles.ts';
