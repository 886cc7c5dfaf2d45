export { type BusinessPublicKey, GraphBusinessEncryption } from './business-encryption.ts';
export { UndiciGraphGateway } from './gateway.ts';
export {
  defaultGraphBaseUrl,
  defaultGraphVersion,
  type GraphApiConfig,
  type GraphCall,
  GraphClient,
  type GraphClientOptions,
  type InvalidGraphConfig,
  minimumGraphMajorVersion,
  parseGraphApiConfig,
  retryAfterMsOf,
} from './graph-client.ts';
export { GraphNumberView, phoneNumberViewFields } from './number-view.ts';
export {
  decodeSendBody,
  encodeSendBody,
  type OutboundEnvelope,
  type WireViolation,
} from './wire.ts';
