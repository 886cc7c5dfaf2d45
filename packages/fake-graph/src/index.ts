export {
  type AutoStatusSettings,
  type EmitOptions,
  FakeGraph,
  type FakeGraphOptions,
  startFakeGraph,
} from './fake-graph.ts';
export * from './flows/index.ts';
export { freeLoopbackPort } from './free-port.ts';
export { type GraphErrorSpec, httpStatusOf } from './graph-errors.ts';
export { metaPairLimit, type PairLimitSettings } from './limits.ts';
export type {
  AcceptedMessage,
  FakeMetaFields,
  FakeNumber,
  FakeNumberConfig,
  FaultSettings,
  NumberStats,
} from './numbers.ts';
export type { DeliveryAttempt, WebhookDelivery, WebhookTarget } from './webhooks/emitter.ts';
export type { InboundMessageSpec, NumberErrorSpec, StatusSpec, WebhookItemSpec } from './webhooks/items.ts';
export { serializeLikeMeta } from './webhooks/meta-json.ts';
