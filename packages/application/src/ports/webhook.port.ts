import type { AppId, Result, ResultAsync, WebhookBatch } from '@prestabot/domain';

/** A secret that may have signed a webhook: a registered app's, or the deployment's `META_APP_SECRET`. */
export type WebhookSecret = { readonly appId?: AppId; readonly secret: string };

export type SignatureError =
  | { readonly type: 'signature_missing' }
  | { readonly type: 'signature_malformed' }
  | { readonly type: 'signature_mismatch' };

/** Checks `X-Hub-Signature-256` over the exact bytes received. */
export interface WebhookSignatureVerifier {
  /**
   * Whether the header is there and has the form of a signature: free, so an unsigned or garbled request is
   * refused before any secret is loaded or any MAC computed.
   */
  checkHeader(signatureHeader: string | undefined): Result<void, SignatureError>;
  /** The secret that produced the signature. */
  verify(
    rawBody: Uint8Array,
    signatureHeader: string | undefined,
    secrets: readonly WebhookSecret[],
  ): ResultAsync<WebhookSecret, SignatureError>;
}

export type WebhookParseError =
  | { readonly type: 'malformed_json'; readonly message: string }
  | { readonly type: 'unexpected_object'; readonly object: string }
  | { readonly type: 'invalid_payload'; readonly message: string };

/** Turns a webhook body into domain items: every entry, change, message, status and error. */
export interface WebhookParser {
  parse(rawBody: Uint8Array): Result<WebhookBatch, WebhookParseError>;
}
