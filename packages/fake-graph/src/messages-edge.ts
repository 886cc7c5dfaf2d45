import type { ServerResponse } from 'node:http';
import { decodeSendBody, type OutboundEnvelope } from '@prestabot/adapters-meta';
import {
  defined,
  messagingLimitOfTier,
  messagingWindowMs,
  type OutboundMessage,
  recipientKeyOf,
  throughputExceededCode,
  validateOutboundMessage,
} from '@prestabot/domain';
import type { AutoStatuses } from './auto-statuses.ts';
import type { FakeGraphOptions } from './fake-graph.ts';
import type { FailGraphRequest } from './graph-answers.ts';
import type { GraphState } from './graph-state.ts';
import { parseJson, respond } from './http.ts';
import { metaPairLimit, PairLimit, PortfolioReach } from './limits.ts';
import type { AcceptedRecord, FakeNumber, FaultSettings } from './numbers.ts';

/** `POST /{v}/{phone_number_id}/messages`: sends, within Meta's limits, and their statuses. */
export class MessagesEdge {
  readonly #options: FakeGraphOptions;
  readonly #state: GraphState;
  readonly #random: () => number;
  readonly #fail: FailGraphRequest;
  readonly #statuses: AutoStatuses;
  readonly #pairLimit: PairLimit | undefined;
  readonly #portfolioReach = new PortfolioReach(messagingWindowMs);

  constructor(dependencies: {
    readonly options: FakeGraphOptions;
    readonly state: GraphState;
    readonly random: () => number;
    readonly fail: FailGraphRequest;
    readonly statuses: AutoStatuses;
  }) {
    this.#options = dependencies.options;
    this.#state = dependencies.state;
    this.#random = dependencies.random;
    this.#fail = dependencies.fail;
    this.#statuses = dependencies.statuses;
    this.#pairLimit =
      this.#options.pairLimit === false ? undefined : new PairLimit(this.#options.pairLimit ?? metaPairLimit);
  }

  send(
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
      !this.#state.inboundWamids.has(referenced) &&
      !this.#state.messagesByWamid.has(referenced)
    ) {
      this.#fail(response, number, {
        code: 100,
        details: `message_id ${referenced} names no message of this number`,
      });
      return;
    }
    const now = performance.timeOrigin + performance.now();
    if (envelope.message.type !== 'mark_read' && !this.#withinLimits(number, envelope, now, response)) return;
    const wamid =
      envelope.message.type === 'mark_read' ? undefined : this.#state.newWamid(number.phoneNumberId);
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
    this.#state.rememberMessage(record, wamid);
    if (this.#random() < (faults.lostAnswerRate ?? 0)) {
      // Accepted, and its statuses will come, but the sender never hears so: its outcome is unknown.
      response.socket?.destroy();
      this.#statuses.schedule(number, envelope, wamid);
      return;
    }
    respond(response, 200, {
      messaging_product: 'whatsapp',
      contacts: [contactOf(json, envelope.recipient)],
      messages: [{ id: wamid }],
    });
    this.#statuses.schedule(number, envelope, wamid);
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
}

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
