export { ZodWebhookParser } from './parser.ts';
export {
  type HmacSha256,
  HmacSignatureVerifier,
  signWebhookBody,
  webCryptoHmacSha256,
} from './signature.ts';
export { type SubscriptionError, verifySubscription } from './subscription.ts';
