export {
  type DecryptedFlowRequest,
  decryptFlowRequest,
  decryptFlowResponse,
  type EncryptedFlowRequest,
  encryptFlowRequest,
  encryptFlowResponse,
  type FlowDecryptionError,
  type FlowResponseDecryptionError,
  type SealedFlowRequest,
} from './flow-crypto.ts';
export { type FlowRequest, type FlowRequestError, parseFlowRequest } from './flow-request.ts';
export { type FlowTokenSecret, issueFlowToken, SignedFlowTokens, verifyFlowToken } from './flow-token.ts';
export {
  describeFlowKeyError,
  type FlowKeyError,
  type FlowPrivateKey,
  type GeneratedFlowKey,
  generateFlowKey,
  importFlowPrivateKey,
  importFlowPublicKey,
} from './keys.ts';
