import { decodeSendBody, type OutboundEnvelope } from '@prestabot/adapters-meta';
import { type Recipient, recipientKeyOf, type Wamid } from '@prestabot/domain';
import type { GraphErrorSpec } from './graph-errors.ts';
import { SlidingWindowLimit } from './limits.ts';

/** A WhatsApp Business number the fake serves. */
export type FakeNumberConfig = {
  readonly phoneNumberId: string;
  /** The only token Graph accepts for this number. */
  readonly accessToken: string;
  /** Messages per second Meta allows the number (default 80). */
  readonly ratePerSecond?: number;
  /** The WABA the number belongs to: `entry[].id` in its webhooks. */
  readonly wabaId?: string;
  /** Digits without `+`, as webhook metadata shows them. */
  readonly displayPhoneNumber?: string;
  /** Signs this number's webhooks; default: the webhook target's secret. */
  readonly appSecret?: string;
};

type AcceptedFacts = {
  readonly phoneNumberId: string;
  /** Absent for mark-as-read. */
  readonly wamid?: Wamid;
  /** When the fake accepted it (epoch milliseconds, sub-millisecond precision). */
  readonly receivedAt: number;
  readonly version: string;
};

/**
 * What Graph answers for a number's fields (`GET /{v}/{phone_number_id}`) and its WABA's owner business,
 * as Graph spells them: `messagingLimit` is a tier such as `TIER_250`, `TIER_2K` or `TIER_UNLIMITED`.
 */
export type FakeMetaFields = {
  readonly messagingLimit: string;
  readonly qualityRating: string;
  readonly throughputLevel: string;
  readonly nameStatus: string;
  readonly verifiedName: string;
  readonly businessPortfolioId: string;
};

/** A new portfolio's: 250 new recipients a day, good quality, standard throughput. */
export const defaultMetaFields: FakeMetaFields = {
  messagingLimit: 'TIER_250',
  qualityRating: 'GREEN',
  throughputLevel: 'STANDARD',
  nameStatus: 'APPROVED',
  verifiedName: 'PrestaBot Test',
  businessPortfolioId: '7700000000001',
};

/** A message the fake accepted, as it understood it. */
export type AcceptedMessage = OutboundEnvelope & AcceptedFacts;

/**
 * What the fake keeps of an accepted message: the body as received, read again when asked for. One
 * string per message instead of its object tree keeps the fake's own garbage collection pauses short
 * under load, which would otherwise show up as arrival jitter in its throughput accounting.
 */
export type AcceptedRecord = AcceptedFacts & { readonly body: string };

export const acceptedMessageOf = ({ body, ...facts }: AcceptedRecord): AcceptedMessage =>
  decodeSendBody(JSON.parse(body)).match(
    (envelope) => ({ ...envelope, ...facts }),
    (violation) => {
      throw new Error(`an accepted body no longer reads (${violation.field} ${violation.rule})`);
    },
  );

/** Latency, random server errors and dropped connections, for one number or for all. */
export type FaultSettings = {
  /** Added before the fake answers: fixed, or uniformly random within a range. */
  readonly latencyMs?: number | { readonly min: number; readonly max: number };
  /** Share of requests (0–1) answered with a server error. */
  readonly serverErrorRate?: number;
  /** The codes those errors carry, picked at random (default 131000, 1 and 2). */
  readonly serverErrorCodes?: readonly number[];
  /** Share of requests (0–1) whose connection is destroyed instead of answered. */
  readonly dropRate?: number;
  /** Share of accepted sends (0–1) whose answer is lost: the message goes out, the connection drops. */
  readonly lostAnswerRate?: number;
};

/** What a number's next requests do instead of succeeding. */
export type ScriptedFault =
  | { readonly kind: 'error'; readonly error: GraphErrorSpec }
  | { readonly kind: 'drop' };

/** Every request to a number's messages edge, by what became of it. */
export type NumberStats = {
  readonly accepted: number;
  readonly dropped: number;
  /** Rejections by Graph error code. */
  readonly errors: Readonly<Record<string, number>>;
};

/** One number's state inside the fake. */
export class FakeNumber {
  readonly phoneNumberId: string;
  readonly wabaId: string;
  readonly displayPhoneNumber: string;
  readonly appSecret: string | undefined;
  readonly ratePerSecond: number;
  readonly throughput = new SlidingWindowLimit();
  readonly scripted: ScriptedFault[] = [];
  readonly closedWindows = new Set<string>();
  faults: FaultSettings = {};
  accessToken: string;
  tokenExpired = false;
  businessPublicKey: string | undefined;
  metaFields: FakeMetaFields = defaultMetaFields;
  readonly #accepted: AcceptedRecord[] = [];
  readonly #maxRecords: number;
  #stats: { accepted: number; dropped: number; errors: Record<string, number> } = {
    accepted: 0,
    dropped: 0,
    errors: {},
  };

  constructor(config: FakeNumberConfig, maxRecords: number) {
    this.phoneNumberId = config.phoneNumberId;
    this.accessToken = config.accessToken;
    this.ratePerSecond = config.ratePerSecond ?? 80;
    // Meta's WABA and display number are unrelated to the number id; these defaults only need to be stable.
    this.wabaId = config.wabaId ?? `10${config.phoneNumberId.slice(-13)}`;
    this.displayPhoneNumber =
      config.displayPhoneNumber ?? `1555${config.phoneNumberId.slice(-7).padStart(7, '0')}`;
    this.appSecret = config.appSecret;
    this.#maxRecords = maxRecords;
  }

  get accepted(): readonly AcceptedRecord[] {
    return this.#accepted;
  }

  get stats(): NumberStats {
    return { ...this.#stats, errors: { ...this.#stats.errors } };
  }

  /** Keeps the newest records only, so long benchmark runs stay flat in memory. */
  recordAccepted(message: AcceptedRecord): void {
    this.#stats.accepted += 1;
    this.#accepted.push(message);
    if (this.#accepted.length > this.#maxRecords)
      this.#accepted.splice(0, this.#accepted.length - this.#maxRecords);
  }

  recordError(code: number): void {
    this.#stats.errors[code] = (this.#stats.errors[code] ?? 0) + 1;
  }

  recordDrop(): void {
    this.#stats.dropped += 1;
  }

  clearRecords(): void {
    this.#accepted.length = 0;
    this.#stats = { accepted: 0, dropped: 0, errors: {} };
  }

  isWindowClosed(recipient: Recipient | undefined): boolean {
    return recipient !== undefined && this.closedWindows.has(recipientKeyOf(recipient));
  }
}
