import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Recipient, recipientKeyOf } from '@prestabot/domain';
import { AutoStatuses } from './auto-statuses.ts';
import { handleControlRequest } from './control-api.ts';
import { graphFailure } from './graph-answers.ts';
import type { GraphErrorSpec } from './graph-errors.ts';
import { GraphRouter } from './graph-router.ts';
import { GraphState } from './graph-state.ts';
import { respond } from './http.ts';
import type { PairLimitSettings } from './limits.ts';
import { MessagesEdge } from './messages-edge.ts';
import {
  type AcceptedMessage,
  acceptedMessageOf,
  type FakeMetaFields,
  FakeNumber,
  type FakeNumberConfig,
  type FaultSettings,
  type NumberStats,
  type ScriptedFault,
} from './numbers.ts';
import { type WebhookDelivery, WebhookEmitter, type WebhookTarget } from './webhooks/emitter.ts';
import { resolveItem, type WebhookItemSpec } from './webhooks/items.ts';
import { serializeLikeMeta } from './webhooks/meta-json.ts';
import { webhookPayloadOf } from './webhooks/payload.ts';

/** Statuses the fake reports by itself after accepting a message, like Meta's delivery pipeline. */
export type AutoStatusSettings = {
  /** In this order; e.g. `['sent', 'read', 'delivered']` for out-of-order delivery, or skip `delivered`. */
  readonly sequence?: readonly ('sent' | 'delivered' | 'read')[];
  /** Before the first status, and between two. */
  readonly stepMs?: number;
  /**
   * Each status in a webhook of its own, as Meta usually sends them (the default batches statuses due
   * together into one POST).
   */
  readonly separately?: boolean;
};

export type FakeGraphOptions = {
  readonly host?: string;
  /** 0 (the default) picks a free port. */
  readonly port?: number;
  readonly numbers?: readonly FakeNumberConfig[];
  /** Rejects messages beyond a number's rate in any sliding second with 130429 (default on). */
  readonly enforceThroughput?: boolean;
  /** The HTTP status of 130429 and 131056: Meta's table says 429, integrators also observe 400. */
  readonly throttlingHttpStatus?: 429 | 400;
  /** Meta's pair limit (default: a burst of 45, then one message per 6 s); `false` turns it off. */
  readonly pairLimit?: PairLimitSettings | false;
  /**
   * Refuses a template to a new person past the number's portfolio messaging limit (its `messagingLimit`
   * field, shared by every number naming the same `businessPortfolioId`) in a moving 24 hours (default on).
   * Meta documents no code of its own for this; the fake answers 131048, whose text says there are
   * "restrictions on how many messages can be sent from this phone number".
   */
  readonly enforceMessagingLimits?: boolean;
  /** The time the messaging limit's 24 hours are counted in (default: the real clock); tests move it on. */
  readonly clock?: () => Date;
  /** Mark-as-read and reactions must name a message the fake knows (an inbound it emitted or a send it accepted). */
  readonly requireKnownMessageIds?: boolean;
  readonly webhook?: WebhookTarget;
  /** Reports sent/delivered/read (or failed/131047 for closed windows) for every accepted message. */
  readonly autoStatuses?: AutoStatusSettings;
  /** For faults; seed it for repeatable runs. */
  readonly random?: () => number;
  /** Accepted messages kept per number (the newest). */
  readonly maxRecordsPerNumber?: number;
};

export type EmitOptions = {
  /** Delivers the same body this many more times, as Meta's at-least-once delivery does. */
  readonly duplicates?: number;
  /** Signs with this secret instead of the numbers' app secrets (for signature tests). */
  readonly signWith?: string;
};

/** A stateful stand-in for Meta's Graph API (WhatsApp Cloud API) on loopback. */
export class FakeGraph {
  readonly #options: FakeGraphOptions;
  readonly #server: Server;
  readonly #state: GraphState;
  readonly #emitter: WebhookEmitter | undefined;
  readonly #statuses: AutoStatuses;
  #url = '';

  constructor(options: FakeGraphOptions = {}) {
    this.#options = options;
    this.#state = new GraphState(options.maxRecordsPerNumber ?? 200_000);
    const random = options.random ?? Math.random;
    const fail = graphFailure(options.throttlingHttpStatus ?? 429);
    this.#emitter = options.webhook === undefined ? undefined : new WebhookEmitter(options.webhook);
    this.#statuses = new AutoStatuses(options.autoStatuses, this.#emitter !== undefined, (items) =>
      this.emitWebhook(items),
    );
    for (const number of options.numbers ?? []) this.registerNumber(number);
    const router = new GraphRouter({
      state: this.#state,
      random,
      fail,
      messages: new MessagesEdge({ options, state: this.#state, random, fail, statuses: this.#statuses }),
      control: (method, url, body, response) => handleControlRequest(this, method, url, body, response),
    });
    this.#server = createServer((request, response) => {
      router.handle(request, response).catch((bug: unknown) => {
        respond(response, 500, { error: { message: `fake Graph bug: ${String(bug)}`, code: 1 } });
      });
    });
    // Longer than undici's keep-alive, so the fake never closes a connection a client is about to reuse.
    this.#server.keepAliveTimeout = 65_000;
    this.#server.headersTimeout = 66_000;
  }

  /** `http://host:port`, the base URL to give the gateway. */
  get url(): string {
    return this.#url;
  }

  async listen(): Promise<void> {
    const { host = '127.0.0.1', port = 0 } = this.#options;
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => resolve());
    });
    const address = this.#server.address() as AddressInfo;
    this.#url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  }

  async close(): Promise<void> {
    this.#statuses.cancel();
    await this.#emitter?.close();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  // -- numbers ---------------------------------------------------------------------------------------

  /** Adds a number, or replaces it (and its records) when the id is known. */
  registerNumber(config: FakeNumberConfig): void {
    this.#state.numbers.set(config.phoneNumberId, new FakeNumber(config, this.#state.maxRecordsPerNumber));
  }

  numbers(): readonly FakeNumber[] {
    return [...this.#state.numbers.values()];
  }

  /** A new token for the number; an expired one is forgotten. */
  rotateToken(phoneNumberId: string, accessToken: string): void {
    const number = this.#state.number(phoneNumberId);
    number.accessToken = accessToken;
    number.tokenExpired = false;
  }

  /** The number's token (every number's, without an id) is rejected with 190/463 until rotated. */
  expireToken(phoneNumberId?: string): void {
    for (const number of phoneNumberId === undefined
      ? this.#state.numbers.values()
      : [this.#state.number(phoneNumberId)]) {
      number.tokenExpired = true;
    }
  }

  /** What Graph answers for the number's fields and its WABA's owner business from now on. */
  setMetaFields(phoneNumberId: string, fields: Partial<FakeMetaFields>): void {
    const number = this.#state.number(phoneNumberId);
    number.metaFields = { ...number.metaFields, ...fields };
  }

  /** Meta reports 131047 (as a `failed` status after a 200) for free-form messages to this person. */
  setWindowClosed(phoneNumberId: string, recipient: Recipient, closed = true): void {
    const windows = this.#state.number(phoneNumberId).closedWindows;
    if (closed) windows.add(recipientKeyOf(recipient));
    else windows.delete(recipientKeyOf(recipient));
  }

  // -- faults ----------------------------------------------------------------------------------------

  /** The number's next `count` requests fail with this Graph error. */
  failNext(phoneNumberId: string, error: GraphErrorSpec, count = 1): void {
    this.#script(phoneNumberId, { kind: 'error', error }, count);
  }

  /** The number's next `count` requests lose their connection before an answer. */
  dropNext(phoneNumberId: string, count = 1): void {
    this.#script(phoneNumberId, { kind: 'drop' }, count);
  }

  /** Faults for one number, or for all (numbers' own settings win field by field). */
  setFaults(faults: FaultSettings, phoneNumberId?: string): void {
    if (phoneNumberId === undefined) this.#state.globalFaults = faults;
    else this.#state.number(phoneNumberId).faults = faults;
  }

  clearFaults(): void {
    this.#state.globalFaults = {};
    for (const number of this.#state.numbers.values()) {
      number.faults = {};
      number.scripted.length = 0;
    }
  }

  // -- what the fake saw -----------------------------------------------------------------------------

  /** Messages accepted, oldest first: one number's, or every number's. */
  accepted(phoneNumberId?: string): readonly AcceptedMessage[] {
    const records =
      phoneNumberId === undefined
        ? [...this.#state.numbers.values()]
            .flatMap((number) => number.accepted)
            .sort((a, b) => a.receivedAt - b.receivedAt)
        : this.#state.number(phoneNumberId).accepted;
    return records.map(acceptedMessageOf);
  }

  stats(phoneNumberId: string): NumberStats {
    return this.#state.number(phoneNumberId).stats;
  }

  businessPublicKey(phoneNumberId: string): string | undefined {
    return this.#state.number(phoneNumberId).businessPublicKey;
  }

  /** Forgets accepted messages, counters and webhook deliveries; numbers and faults stay. */
  clearRecords(): void {
    for (const number of this.#state.numbers.values()) number.clearRecords();
    this.#state.messagesByWamid.clear();
    this.#emitter?.forgetDeliveries();
  }

  // -- webhooks --------------------------------------------------------------------------------------

  /**
   * Sends these items as Meta would: one POST per app secret, carrying every item (entries per WABA,
   * changes per number), each signed over its exact bytes.
   */
  async emitWebhook(
    items: readonly WebhookItemSpec[],
    options: EmitOptions = {},
  ): Promise<readonly WebhookDelivery[]> {
    const emitter = this.#webhookEmitter();
    const target = this.#options.webhook!;
    const resolved = items.map((item) =>
      resolveItem(item, {
        number: (id) => this.#state.numbers.get(id),
        acceptedMessage: (wamid) => {
          const record = this.#state.messagesByWamid.get(wamid);
          return record === undefined ? undefined : acceptedMessageOf(record);
        },
        newWamid: (id) => this.#state.newWamid(id),
        now: () => new Date(),
      }),
    );
    const bySecret = new Map<string, typeof resolved>();
    for (const item of resolved) {
      if (item.kind === 'message' && this.#options.requireKnownMessageIds === true) {
        this.#state.inboundWamids.add(item.wamid);
      }
      const secret =
        options.signWith ?? this.#state.numbers.get(item.phoneNumberId)?.appSecret ?? target.appSecret;
      bySecret.set(secret, [...(bySecret.get(secret) ?? []), item]);
    }
    const deliveries: WebhookDelivery[] = [];
    for (const [secret, group] of bySecret) {
      const body = serializeLikeMeta(webhookPayloadOf(group));
      for (let copy = 0; copy <= (options.duplicates ?? 0); copy += 1) {
        deliveries.push(await emitter.deliver(body, secret, group.length));
      }
    }
    return deliveries;
  }

  /**
   * Sends one account field about a number (`phone_number_quality_update`, `business_capability_update`,
   * `account_update`, `message_template_status_update`, …) as Meta does: under its WABA's entry, signed
   * with its app's secret. A quality update gets the number's display number unless `value` has one.
   */
  async emitAccountWebhook(
    phoneNumberId: string,
    field: string,
    value: Readonly<Record<string, unknown>>,
    options: EmitOptions = {},
  ): Promise<WebhookDelivery> {
    const emitter = this.#webhookEmitter();
    const number = this.#state.number(phoneNumberId);
    const secret = options.signWith ?? number.appSecret ?? this.#options.webhook!.appSecret;
    const withNumber =
      field === 'phone_number_quality_update'
        ? { display_phone_number: number.displayPhoneNumber, ...value }
        : value;
    const body = serializeLikeMeta({
      object: 'whatsapp_business_account',
      entry: [
        {
          id: number.wabaId,
          time: Math.floor(Date.now() / 1000),
          changes: [{ field, value: withNumber }],
        },
      ],
    });
    return emitter.deliver(body, secret, 1);
  }

  webhookDeliveries(): readonly WebhookDelivery[] {
    return this.#webhookEmitter().deliveries;
  }

  /** Resolves once every status the fake scheduled was emitted and every delivery finished. */
  async settled(): Promise<void> {
    await this.#statuses.settled();
    await this.#emitter?.settled();
  }

  #script(phoneNumberId: string, fault: ScriptedFault, count: number): void {
    const scripted = this.#state.number(phoneNumberId).scripted;
    for (let index = 0; index < count; index += 1) scripted.push(fault);
  }

  #webhookEmitter(): WebhookEmitter {
    if (this.#emitter === undefined) throw new Error('the fake was started without a webhook target');
    return this.#emitter;
  }
}

/** Starts a fake Graph API listening on loopback. */
export const startFakeGraph = async (options: FakeGraphOptions = {}): Promise<FakeGraph> => {
  const fake = new FakeGraph(options);
  await fake.listen();
  return fake;
};
