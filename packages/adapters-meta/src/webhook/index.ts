export { ZodWebhookParser } from './parser.ts';
export { signWebhookBody, WebCryptoSignatureVerifier } from './signature.ts';
export { type SubscriptionError, verifySubscription } from './subscription.ts';
