import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeSendBody, type OutboundEnvelope } from '@prestabot/adapters-meta';
import {
  defined,
  messagingLimitOfTier,
  messagingWindowMs,
  type OutboundMessage,
  type Recipient,
  recipientKeyOf,
  throughputExceededCode,
  validateOutboundMessage,
  type Wamid,
  windowClosedCode,
} from '@prestabot/domain';
import { handleControlRequest } from './control-api.ts';
import { type GraphErrorSpec, graphErrorBody, httpStatusOf, titleOf } from './graph-errors.ts';
import { delay, parseJson, readBody, respond } from './http.ts';
import { metaPairLimit, PairLimit, type PairLimitSettings, PortfolioReach } from './limits.ts';
import {
  type AcceptedMessage,
  type AcceptedRecord,
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

const defaultServerErrorCodes = [131000, 1, 2];

/** A stateful stand-in for Meta's Graph API (WhatsApp Cloud API) on loopback. */
export class FakeGraph {
  readonly #options: FakeGraphOptions;
  readonly #server: Server;
  readonly #numbers = new Map<string, FakeNumber>();
  /** Messages by wamid, for statuses; bounded like the per-number records. */
  readonly #messagesByWamid = new Map<string, AcceptedRecord>();
  readonly #inboundWamids = new Set<string>();
  readonly #pairLimit: PairLimit | undefined;
  readonly #portfolioReach = new PortfolioReach(messagingWindowMs);
  readonly #emitter: WebhookEmitter | undefined;
  readonly #random: () => number;
  readonly #statusTimers = new Set<NodeJS.Timeout>();
  readonly #emits = new Set<Promise<unknown>>();
  #queuedStatuses: WebhookItemSpec[] = [];
  #flushScheduled = false;
  #globalFaults: FaultSettings = {};
  #url = '';
  readonly #wamidPrefix = randomBytes(6).toString('hex');
  #wamidSequence = 0;

  constructor(options: FakeGraphOptions = {}) {
    this.#options = options;
    this.#random = options.random ?? Math.random;
    this.#pairLimit =
      options.pairLimit === false ? undefined : new PairLimit(options.pairLimit ?? metaPairLimit);
    this.#emitter = options.webhook === undefined ? undefined : new WebhookEmitter(options.webhook);
    for (const number of options.numbers ?? []) this.registerNumber(number);
    this.#server = createServer((request, response) => {
      this.#handle(request, response).catch((bug: unknown) => {
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
    for (const timer of this.#statusTimers) clearTimeout(timer);
    this.#statusTimers.clear();
    await this.#emitter?.close();
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  // -- numbers ---------------------------------------------------------------------------------------

  /** Adds a number, or replaces it (and its records) when the id is known. */
  registerNumber(config: FakeNumberConfig): void {
    this.#numbers.set(
      config.phoneNumberId,
      new FakeNumber(config, this.#options.maxRecordsPerNumber ?? 200_000),
    );
  }

  numbers(): readonly FakeNumber[] {
    return [...this.#numbers.values()];
  }

  /** A new token for the number; an expired one is forgotten. */
  rotateToken(phoneNumberId: string, accessToken: string): void {
    const number = this.#number(phoneNumberId);
    number.accessToken = accessToken;
    number.tokenExpired = false;
  }

  /** The number's token (every number's, without an id) is rejected with 190/463 until rotated. */
  expireToken(phoneNumberId?: string): void {
    for (const number of phoneNumberId === undefined
      ? this.#numbers.values()
      : [this.#number(phoneNumberId)]) {
      number.tokenExpired = true;
    }
  }

  /** What Graph answers for the number's fields and its WABA's owner business from now on. */
  setMetaFields(phoneNumberId: string, fields: Partial<FakeMetaFields>): void {
    const number = this.#number(phoneNumberId);
    number.metaFields = { ...number.metaFields, ...fields };
  }

  /** Meta reports 131047 (as a `failed` status after a 200) for free-form messages to this person. */
  setWindowClosed(phoneNumberId: string, recipient: Recipient, closed = true): void {
    const windows = this.#number(phoneNumberId).closedWindows;
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
    if (phoneNumberId === undefined) this.#globalFaults = faults;
    else this.#number(phoneNumberId).faults = faults;
  }

  clearFaults(): void {
    this.#globalFaults = {};
    for (const number of this.#numbers.values()) {
      number.faults = {};
      number.scripted.length = 0;
    }
  }

  // -- what the fake saw -----------------------------------------------------------------------------

  /** Messages accepted, oldest first: one number's, or every number's. */
  accepted(phoneNumberId?: string): readonly AcceptedMessage[] {
    const records =
      phoneNumberId === undefined
        ? [...this.#numbers.values()]
            .flatMap((number) => number.accepted)
            .sort((a, b) => a.receivedAt - b.receivedAt)
        : this.#number(phoneNumberId).accepted;
    return records.map(acceptedMessageOf);
  }

  stats(phoneNumberId: string): NumberStats {
    return this.#number(phoneNumberId).stats;
  }

  businessPublicKey(phoneNumberId: string): string | undefined {
    return this.#number(phoneNumberId).businessPublicKey;
  }

  /** Forgets accepted messages, counters and webhook deliveries; numbers and faults stay. */
  clearRecords(): void {
    for (const number of this.#numbers.values()) number.clearRecords();
    this.#messagesByWamid.clear();
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
        number: (id) => this.#numbers.get(id),
        acceptedMessage: (wamid) => {
          const record = this.#messagesByWamid.get(wamid);
          return record === undefined ? undefined : acceptedMessageOf(record);
        },
        newWamid: (id) => this.#newWamid(id),
        now: () => new Date(),
      }),
    );
    const bySecret = new Map<string, typeof resolved>();
    for (const item of resolved) {
      if (item.kind === 'message' && this.#options.requireKnownMessageIds === true) {
        this.#inboundWamids.add(item.wamid);
      }
      const secret = options.signWith ?? this.#numbers.get(item.phoneNumberId)?.appSecret ?? target.appSecret;
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
    const number = this.#number(phoneNumberId);
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
    while (this.#statusTimers.size > 0 || this.#flushScheduled || this.#emits.size > 0) {
      await (this.#emits.size > 0 ? Promise.allSettled(this.#emits) : delay(5));
    }
    await this.#emitter?.settled();
  }

  // -- HTTP ------------------------------------------------------------------------------------------

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://fake-graph');
    const body = await readBody(request);
    if (body === undefined) {
      respond(response, 413, graphErrorBody({ code: 100, details: 'The request body is too large' }));
      return;
    }
    if (url.pathname.startsWith('/_fake/')) {
      await handleControlRequest(this, request.method ?? 'GET', url, body, response);
      return;
    }
    const [, version = '', phoneNumberId = '', edge = '', ...rest] = url.pathname.split('/');
    if (
      !/^v\d+\.\d+$/.test(version) ||
      rest.length > 0 ||
      !['', 'messages', 'whatsapp_business_encryption'].includes(edge)
    ) {
      this.#fail(response, undefined, { code: 2500, details: `Unknown path components: ${url.pathname}` });
      return;
    }
    response.setHeader('facebook-api-version', version);
    const number = this.#numbers.get(phoneNumberId);
    if (number === undefined && edge === '' && request.method === 'GET') {
      this.#readWaba(phoneNumberId, request.headers.authorization ?? '', response);
      return;
    }
    if (number === undefined) {
      this.#fail(response, undefined, {
        code: 100,
        subcode: 33,
        title: `Unsupported post request. Object with ID '${phoneNumberId}' does not exist, cannot be loaded due to missing permissions, or does not support this operation`,
      });
      return;
    }
    if (edge === '' && request.method === 'GET') {
      // Management reads stay out of the messages edge's faults and counts: a worker's daily sync must
      // not take a fault a test scripted for a send.
      if (!number.tokenExpired && request.headers.authorization === `Bearer ${number.accessToken}`)
        respond(response, 200, phoneNumberFieldsOf(number, url.searchParams.get('fields')));
      else this.#fail(response, undefined, { code: 190 });
      return;
    }
    const faults = { ...this.#globalFaults, ...number.faults };
    await delay(this.#latencyOf(faults));
    if (this.#random() < (faults.dropRate ?? 0)) {
      this.#drop(request, number);
      return;
    }
    const authorization = request.headers.authorization ?? '';
    if (authorization !== `Bearer ${number.accessToken}`) {
      this.#fail(response, number, { code: 190 });
      return;
    }
    if (number.tokenExpired) {
      this.#fail(response, number, {
        code: 190,
        subcode: 463,
        title: 'Error validating access token: Session has expired',
      });
      return;
    }
    const scripted = number.scripted.shift();
    if (scripted?.kind === 'drop') {
      this.#drop(request, number);
      return;
    }
    if (scripted?.kind === 'error') {
      this.#fail(response, number, scripted.error);
      return;
    }
    if (this.#random() < (faults.serverErrorRate ?? 0)) {
      const codes = faults.serverErrorCodes ?? defaultServerErrorCodes;
      const code = codes[Math.floor(this.#random() * codes.length)] ?? 131000;
      this.#fail(response, number, { code, httpStatus: Math.max(500, httpStatusOf(code, 500)) });
      return;
    }
    if (edge === 'messages' && request.method === 'POST') {
      this.#sendMessage(number, version, body, response, faults);
    } else if (edge === 'whatsapp_business_encryption' && request.method === 'POST') {
      await this.#uploadKey(number, request, body, response);
    } else if (edge === 'whatsapp_business_encryption' && request.method === 'GET') {
      const key = number.businessPublicKey;
      respond(response, 200, {
        data:
          key === undefined
            ? []
            : [{ business_public_key: key, business_public_key_signature_status: 'VALID' }],
      });
    } else {
      this.#fail(response, number, { code: 100, details: `${request.method} is not supported on ${edge}` });
    }
  }

  /** `GET /{v}/{waba_id}`: the owner business, for a token of one of the WABA's numbers. */
  #readWaba(wabaId: string, authorization: string, response: ServerResponse): void {
    const numbers = [...this.#numbers.values()].filter((number) => number.wabaId === wabaId);
    const owner = numbers.find((number) => authorization === `Bearer ${number.accessToken}`);
    if (numbers.length === 0) {
      this.#fail(response, undefined, {
        code: 100,
        subcode: 33,
        title: `Object with ID '${wabaId}' does not exist`,
      });
    } else if (owner === undefined) {
      this.#fail(response, undefined, { code: 190 });
    } else {
      respond(response, 200, {
        id: wabaId,
        owner_business_info: {
          id: owner.metaFields.businessPortfolioId,
          name: owner.metaFields.verifiedName,
        },
      });
    }
  }

  #sendMessage(
    number: FakeNumber,
    version: string,
    body: Buffer,
    response: ServerResponse,
    faults: FaultSettings,
  ): void {
    const text = body.toString('utf8');
    const json = parseJson(text);
    const decoded = decodeSendBody(json).andThen((envelope) =>
      validateOutboundMessage(envelope.message).map(() => envelope),
    );
    if (decoded.isErr()) {
      this.#fail(response, number, { code: 100, details: `${decoded.error.field} ${decoded.error.rule}` });
      return;
    }
    const envelope = decoded.value;
    const referenced = referencedMessageOf(envelope.message);
    if (
      this.#options.requireKnownMessageIds === true &&
      referenced !== undefined &&
      !this.#inboundWamids.has(referenced) &&
      !this.#messagesByWamid.has(referenced)
    ) {
      this.#fail(response, number, {
        code: 100,
        details: `message_id ${referenced} names no message of this number`,
      });
      return;
    }
    const now = performance.timeOrigin + performance.now();
    if (envelope.message.type !== 'mark_read' && !this.#withinLimits(number, envelope, now, response)) return;
    const wamid = envelope.message.type === 'mark_read' ? undefined : this.#newWamid(number.phoneNumberId);
    const record: AcceptedRecord = {
      phoneNumberId: number.phoneNumberId,
      receivedAt: now,
      version,
      body: text,
      ...defined({ wamid }),
    };
    number.recordAccepted(record);
    if (wamid === undefined) {
      respond(response, 200, { success: true });
      return;
    }
    this.#rememberMessage(record, wamid);
    if (this.#random() < (faults.lostAnswerRate ?? 0)) {
      // Accepted, and its statuses will come, but the sender never hears so: its outcome is unknown.
      response.socket?.destroy();
      this.#scheduleStatuses(number, envelope, wamid);
      return;
    }
    respond(response, 200, {
      messaging_product: 'whatsapp',
      contacts: [contactOf(json, envelope.recipient)],
      messages: [{ id: wamid }],
    });
    this.#scheduleStatuses(number, envelope, wamid);
  }

  /** Meta's per-number throughput (sliding second), per-recipient pair limit and portfolio messaging limit. */
  #withinLimits(
    number: FakeNumber,
    envelope: OutboundEnvelope,
    now: number,
    response: ServerResponse,
  ): boolean {
    const { recipient } = envelope;
    const throttlingStatus = this.#options.throttlingHttpStatus ?? 429;
    if (this.#options.enforceThroughput !== false && !number.throughput.hasRoom(now, number.ratePerSecond)) {
      this.#fail(response, number, {
        code: throughputExceededCode,
        details: 'Cloud API message throughput has been reached.',
        httpStatus: throttlingStatus,
      });
      return false;
    }
    if (
      recipient !== undefined &&
      this.#pairLimit !== undefined &&
      !this.#pairLimit.tryAcquire(`${number.phoneNumberId}|${recipientKeyOf(recipient)}`, now)
    ) {
      this.#fail(response, number, {
        code: 131056,
        details:
          'Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time.',
        httpStatus: throttlingStatus,
      });
      return false;
    }
    const reach = this.#reachOf(number, envelope);
    if (
      reach !== undefined &&
      !this.#portfolioReach.admits(reach.portfolio, reach.recipient, reach.at, reach.limit)
    ) {
      this.#fail(response, number, {
        code: 131048,
        details: `Message failed to send because there are restrictions on how many messages can be sent from this phone number: the business portfolio reached its messaging limit (${number.metaFields.messagingLimit}) in the last 24 hours.`,
        httpStatus: throttlingStatus,
      });
      return false;
    }
    number.throughput.record(now);
    if (reach !== undefined) this.#portfolioReach.record(reach.portfolio, reach.recipient, reach.at);
    return true;
  }

  /** What a template counts against its portfolio's messaging limit; undefined when nothing. */
  #reachOf(number: FakeNumber, envelope: OutboundEnvelope) {
    if (this.#options.enforceMessagingLimits === false) return undefined;
    if (envelope.recipient === undefined || envelope.message.type !== 'template') return undefined;
    const limit = messagingLimitOfTier(number.metaFields.messagingLimit);
    if (limit.isErr()) return undefined;
    return {
      portfolio: number.metaFields.businessPortfolioId,
      recipient: recipientKeyOf(envelope.recipient),
      at: (this.#options.clock?.() ?? new Date()).getTime(),
      limit: limit.value,
    };
  }

  async #uploadKey(
    number: FakeNumber,
    request: IncomingMessage,
    body: Buffer,
    response: ServerResponse,
  ): Promise<void> {
    // The Fetch API reads both url-encoded and multipart forms.
    const form = await new Request('http://fake-graph/', {
      method: 'POST',
      headers: { 'content-type': request.headers['content-type'] ?? '' },
      body: new Uint8Array(body),
    })
      .formData()
      .catch(() => undefined);
    const key = form?.get('business_public_key');
    if (typeof key !== 'string' || !key.includes('-----BEGIN PUBLIC KEY-----')) {
      this.#fail(response, number, { code: 100, details: 'business_public_key must be a PEM public key' });
      return;
    }
    number.businessPublicKey = key;
    respond(response, 200, { success: true });
  }

  #fail(response: ServerResponse, number: FakeNumber | undefined, error: GraphErrorSpec): void {
    number?.recordError(error.code);
    const status = error.httpStatus ?? httpStatusOf(error.code, this.#options.throttlingHttpStatus ?? 429);
    respond(response, status, graphErrorBody(error), {
      ...(error.retryAfterSeconds === undefined ? {} : { 'retry-after': String(error.retryAfterSeconds) }),
      ...(status === 401
        ? { 'www-authenticate': `OAuth "Facebook Platform" "invalid_token" "${titleOf(190)}"` }
        : {}),
    });
  }

  #drop(request: IncomingMessage, number: FakeNumber): void {
    number.recordDrop();
    request.socket.destroy();
  }

  #script(phoneNumberId: string, fault: ScriptedFault, count: number): void {
    const scripted = this.#number(phoneNumberId).scripted;
    for (let index = 0; index < count; index += 1) scripted.push(fault);
  }

  #latencyOf(faults: FaultSettings): number {
    const latency = faults.latencyMs ?? 0;
    return typeof latency === 'number' ? latency : latency.min + this.#random() * (latency.max - latency.min);
  }

  #number(phoneNumberId: string): FakeNumber {
    const number = this.#numbers.get(phoneNumberId);
    if (number === undefined) throw new Error(`the fake serves no number ${phoneNumberId}`);
    return number;
  }

  #newWamid(phoneNumberId: string): Wamid {
    // Meta's wamids are base64 of an opaque structure; these only have to be unique and look the part.
    this.#wamidSequence += 1;
    return `wamid.${Buffer.from(`${phoneNumberId}:${this.#wamidPrefix}:${this.#wamidSequence}`).toString('base64')}` as Wamid;
  }

  #rememberMessage(record: AcceptedRecord, wamid: Wamid): void {
    this.#messagesByWamid.set(wamid, record);
    const max = (this.#options.maxRecordsPerNumber ?? 200_000) * Math.max(1, this.#numbers.size);
    if (this.#messagesByWamid.size > max) {
      const oldest = this.#messagesByWamid.keys().next().value;
      if (oldest !== undefined) this.#messagesByWamid.delete(oldest);
    }
  }

  // -- statuses the fake reports by itself -------------------------------------------------------------

  #scheduleStatuses(number: FakeNumber, accepted: OutboundEnvelope, wamid: Wamid): void {
    const settings = this.#options.autoStatuses;
    if (this.#emitter === undefined) return;
    const stepMs = settings?.stepMs ?? 20;
    if (accepted.message.type !== 'template' && number.isWindowClosed(accepted.recipient)) {
      // The send was accepted; the failure arrives later, as Meta reports 131047.
      this.#statusAfter(stepMs, {
        kind: 'status',
        wamid,
        status: 'failed',
        errors: [
          {
            code: windowClosedCode,
            title: titleOf(windowClosedCode),
            message: titleOf(windowClosedCode),
            details:
              'Message failed to send because more than 24 hours have passed since the customer last replied to this number.',
          },
        ],
      });
      return;
    }
    if (settings === undefined) return;
    (settings.sequence ?? ['sent', 'delivered', 'read']).forEach((status, index) => {
      this.#statusAfter(stepMs * (index + 1), { kind: 'status', wamid, status });
    });
  }

  /** Keeps an emission in hand until it is over, so `settled` and `close` wait for it. */
  #track(emit: Promise<unknown>): void {
    this.#emits.add(emit);
    void emit.catch(() => undefined).finally(() => this.#emits.delete(emit));
  }

  #statusAfter(ms: number, status: WebhookItemSpec): void {
    const timer = setTimeout(() => {
      this.#statusTimers.delete(timer);
      if (this.#options.autoStatuses?.separately === true) {
        this.#track(this.emitWebhook([status]));
        return;
      }
      this.#queuedStatuses.push(status);
      if (this.#flushScheduled) return;
      this.#flushScheduled = true;
      // Statuses due together go out in one POST, as Meta batches them.
      setImmediate(() => {
        this.#flushScheduled = false;
        const batch = this.#queuedStatuses;
        this.#queuedStatuses = [];
        this.#track(this.emitWebhook(batch));
      });
    }, ms);
    this.#statusTimers.add(timer);
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

const referencedMessageOf = (message: OutboundMessage): string | undefined =>
  message.type === 'mark_read' || message.type === 'reaction' ? message.messageId : undefined;

/** Graph echoes what was sent as `input` and answers with the normalised id. */
const contactOf = (json: unknown, recipient: OutboundEnvelope['recipient']) => {
  const input =
    (json as { to?: string; recipient?: string }).to ?? (json as { recipient?: string }).recipient;
  if (recipient === undefined) return { input };
  return 'phone' in recipient
    ? { input, wa_id: recipient.phone.slice(1) }
    : { input, user_id: recipient.userId };
};

/** The fields asked for (`?fields=a,b`) as Graph names them; all of them when none are named. */
const phoneNumberFieldsOf = (number: FakeNumber, fields: string | null): Record<string, unknown> => {
  const meta = number.metaFields;
  const all: Record<string, unknown> = {
    whatsapp_business_manager_messaging_limit: meta.messagingLimit,
    quality_rating: meta.qualityRating,
    throughput: { level: meta.throughputLevel },
    name_status: meta.nameStatus,
    verified_name: meta.verifiedName,
    display_phone_number: number.displayPhoneNumber,
  };
  const wanted = fields === null || fields === '' ? Object.keys(all) : fields.split(',');
  return Object.fromEntries([
    ['id', number.phoneNumberId],
    ...wanted.flatMap((field) => (field in all ? [[field, all[field]]] : [])),
  ]);
};
