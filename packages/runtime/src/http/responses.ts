import type { IngestWebhookError } from '@prestabot/application';
import { truncateCodePoints } from '@prestabot/domain';

/** Every use-case error the HTTP surface can meet, mapped to a status in this one place. */
export const statusOfIngestError = (error: IngestWebhookError): number => {
  switch (error.type) {
    case 'payload_too_large':
      return 413;
    case 'signature_missing':
    case 'signature_malformed':
    case 'signature_mismatch':
    case 'signature_app_mismatch':
      return 401;
    case 'malformed_json':
    case 'unexpected_object':
    case 'invalid_payload':
      return 400;
    case 'no_webhook_secret':
      return 500;
    case 'storage_error':
      // Meta retries anything but 200; 503 says "later", which is exactly what a database outage needs.
      return error.reason === 'unavailable' || error.reason === 'retryable' ? 503 : 500;
  }
};

/** What the caller is told. Never a secret, never a stack. */
export const messageOfIngestError = (error: IngestWebhookError): string => {
  switch (error.type) {
    case 'payload_too_large':
      return `payload of ${error.size} bytes exceeds the ${error.limit}-byte limit`;
    case 'signature_missing':
      return 'missing X-Hub-Signature-256 header';
    case 'signature_malformed':
      return 'X-Hub-Signature-256 must be sha256=<64 hex digits>';
    case 'signature_mismatch':
      return 'signature does not match any configured app secret';
    case 'signature_app_mismatch':
      return `payload is not signed by the app of number ${error.phoneNumberId}`;
    case 'malformed_json':
      return 'body is not valid JSON';
    case 'unexpected_object':
      return `object must be whatsapp_business_account, got ${truncateCodePoints(JSON.stringify(error.object), 80)}`;
    case 'invalid_payload':
      return `payload is not a WhatsApp webhook: ${error.message}`;
    case 'no_webhook_secret':
      return 'no app secret is configured to verify webhooks';
    case 'storage_error':
      return 'storage unavailable, retry later';
  }
};

export const json = (status: number, body: unknown, headers: Record<string, string> = {}): Response =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  });

export const text = (status: number, body: string, headers: Record<string, string> = {}): Response =>
  new Response(body, { status, headers: { 'content-type': 'text/plain; charset=utf-8', ...headers } });
