import {
  errAsync,
  okAsync,
  type PhoneNumberId,
  type ResultAsync,
  validateOutboundMessage,
  type Wamid,
} from '@prestabot/domain';
import {
  type MessagingGateway,
  type SendAccepted,
  type SendFailure,
  type SendRequest,
  sendFailureOf,
} from '../ports/messaging-gateway.port.ts';

export type AcceptedSend = SendRequest & { readonly wamid?: Wamid };

/** A failure to script: an error Graph returns (by code), the connection dropping, or a send slot passing. */
export type ScriptedFailure =
  | {
      readonly code: number;
      readonly title?: string;
      readonly details?: string;
      readonly retryAfterMs?: number;
    }
  /** The connection failed; with `answerLost`, after the request went out (Graph may have sent it). */
  | { readonly network: true; readonly answerLost?: true }
  | { readonly slotMissed: true };

const failureOf = (scripted: ScriptedFailure): SendFailure => {
  if ('network' in scripted)
    return {
      type: 'send_retryable',
      title: 'connection dropped',
      ...(scripted.answerLost === true ? { outcomeUnknown: true as const } : {}),
    };
  if ('slotMissed' in scripted) return { type: 'send_slot_missed' };
  return sendFailureOf(scripted);
};

/**
 * An in-memory Graph API: accepts a number's messages only with that number's token (else 190), checks
 * Meta's limits (else 100), hands out wamids and records what it accepted. Failures can be scripted.
 */
export class RecordingGateway implements MessagingGateway {
  readonly accepted: AcceptedSend[] = [];

  /** What was accepted for the person with this `wa_id`, oldest first. */
  sentTo(waId: string): AcceptedSend[] {
    return this.accepted.filter(
      (send) =>
        send.recipient !== undefined && 'phone' in send.recipient && send.recipient.phone === `+${waId}`,
    );
  }
  readonly attempts: SendRequest[] = [];
  readonly #tokens = new Map<PhoneNumberId, string>();
  readonly #scripted = new Map<PhoneNumberId, ScriptedFailure[]>();
  #nextWamid = 0;

  /** The token Meta would accept for this number. */
  allow(phoneNumberId: PhoneNumberId, accessToken: string): void {
    this.#tokens.set(phoneNumberId, accessToken);
  }

  /** The next sends for this number fail with these failures, in order. */
  failNext(phoneNumberId: PhoneNumberId, ...failures: ScriptedFailure[]): void {
    this.#scripted.set(phoneNumberId, [...(this.#scripted.get(phoneNumberId) ?? []), ...failures]);
  }

  send(request: SendRequest): ResultAsync<SendAccepted, SendFailure> {
    this.attempts.push(request);
    const scripted = this.#scripted.get(request.phoneNumberId)?.shift();
    if (scripted !== undefined) return errAsync(failureOf(scripted));
    if (this.#tokens.get(request.phoneNumberId) !== request.accessToken) {
      return errAsync({ type: 'send_token_invalid', code: 190, title: 'Invalid OAuth access token' });
    }
    const invalid = validateOutboundMessage(request.message);
    if (invalid.isErr()) {
      return errAsync({
        type: 'send_rejected',
        code: 100,
        title: 'Invalid parameter',
        details: `${invalid.error.field} ${invalid.error.rule}`,
      });
    }
    if (request.message.type === 'mark_read') {
      this.accepted.push(request);
      return okAsync({});
    }
    this.#nextWamid += 1;
    const wamid = `wamid.TEST${this.#nextWamid.toString().padStart(8, '0')}` as Wamid;
    this.accepted.push({ ...request, wamid });
    return okAsync({ wamid });
  }
}
