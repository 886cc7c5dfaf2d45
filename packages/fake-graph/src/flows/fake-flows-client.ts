import {
  decryptFlowResponse,
  describeFlowKeyError,
  encryptFlowRequest,
  importFlowPublicKey,
  signWebhookBody,
} from '@prestabot/adapters-meta';
import type { JsonObject } from '@prestabot/domain';
import { defined } from '@prestabot/domain';
import { request } from 'undici';

export type FakeFlowsClientOptions = {
  /** The business's Flows data-exchange endpoint. */
  readonly endpointUrl: string;
  /** The business public key registered for the number (`FakeGraph.businessPublicKey`). */
  readonly publicKeyPem: string;
  /** Fetches the registered key again: WhatsApp does so once after a 421, then retries once. */
  readonly refetchPublicKey: () => Promise<string>;
  /** The Meta app's secret: every body is signed with it in `X-Hub-Signature-256`, as Meta does. */
  readonly appSecret: string;
  /** The data API version sent in each request (default `3.0`). */
  readonly version?: string;
  /** How long one request may take (default 10 s, about WhatsApp's own limit). */
  readonly timeoutMs?: number;
};

/** One answer of the endpoint, as the client saw it. */
export type FlowExchange = {
  readonly status: number;
  /** The decrypted answer; `undefined` when the body does not decrypt (a plain 421 or 432, a tampered body). */
  readonly response: JsonObject | undefined;
  /** The body as received. */
  readonly body: string;
};

export type FlowErrorNotification = {
  /** The action whose answer broke the Flow. */
  readonly action: 'INIT' | 'data_exchange';
  readonly error: string;
  readonly errorMessage?: string;
};

const encoder = new TextEncoder();

/**
 * Plays WhatsApp against a Flows endpoint: each request gets a fresh AES-128 key wrapped with RSA-OAEP
 * (SHA-256) to the business public key and a fresh 16-byte IV (AES-128-GCM); each answer is read with the
 * flipped IV. A 421 makes it re-fetch the public key once and retry once; every other status is returned as
 * it is (a 427 still carries an encrypted body).
 */
export class FakeFlowsClient {
  readonly #options: FakeFlowsClientOptions;
  readonly #version: string;
  #publicKeyPem: string;
  #publicKey: CryptoKey | undefined;

  constructor(options: FakeFlowsClientOptions) {
    this.#options = options;
    this.#version = options.version ?? '3.0';
    this.#publicKeyPem = options.publicKeyPem;
  }

  ping(): Promise<FlowExchange> {
    return this.exchange({ version: this.#version, action: 'ping' });
  }

  init(flowToken: string): Promise<FlowExchange> {
    return this.exchange({ version: this.#version, action: 'INIT', flow_token: flowToken });
  }

  dataExchange(flowToken: string, screen: string, data: JsonObject): Promise<FlowExchange> {
    return this.exchange({
      version: this.#version,
      action: 'data_exchange',
      screen,
      data,
      flow_token: flowToken,
    });
  }

  back(flowToken: string, screen: string): Promise<FlowExchange> {
    return this.exchange({ version: this.#version, action: 'BACK', screen, flow_token: flowToken });
  }

  errorNotification(flowToken: string, notification: FlowErrorNotification): Promise<FlowExchange> {
    const { action, error, errorMessage } = notification;
    return this.exchange({
      version: this.#version,
      action,
      flow_token: flowToken,
      data: { error, ...defined({ error_message: errorMessage }) },
    });
  }

  /** Sends any decrypted payload the way WhatsApp would, 421 handling included. */
  async exchange(payload: JsonObject): Promise<FlowExchange> {
    const first = await this.#post(payload);
    if (first.status !== 421) return first;
    this.#publicKeyPem = await this.#options.refetchPublicKey();
    this.#publicKey = undefined;
    return this.#post(payload);
  }

  async #post(payload: JsonObject): Promise<FlowExchange> {
    this.#publicKey ??= await publicKeyOf(this.#publicKeyPem);
    const sealed = await encryptFlowRequest(payload, this.#publicKey);
    const body = JSON.stringify(sealed.body);
    const answer = await request(this.#options.endpointUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-hub-signature-256': await signWebhookBody(encoder.encode(body), this.#options.appSecret),
      },
      body,
      signal: AbortSignal.timeout(this.#options.timeoutMs ?? 10_000),
    });
    const text = await answer.body.text();
    const response = await decryptFlowResponse(text, sealed.aesKey, sealed.iv);
    return { status: answer.statusCode, response: response.unwrapOr(undefined), body: text };
  }
}

/** The key comes from the test's own setup, so an unusable one is a bug in the test: it throws. */
const publicKeyOf = async (pem: string): Promise<CryptoKey> => {
  const imported = await importFlowPublicKey(pem);
  if (imported.isErr())
    throw new Error(`the business public key is unusable: ${describeFlowKeyError(imported.error)}`);
  return imported.value;
};
