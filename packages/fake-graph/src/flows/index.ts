export {
  FakeFlowsClient,
  type FakeFlowsClientOptions,
  type FlowErrorNotification,
  type FlowExchange,
} from './fake-flows-client.ts';
