import {
  classifyGraphErrorCode,
  defined,
  type OutboundMessage,
  type PhoneNumberId,
  type Recipient,
  type ResultAsync,
  type Wamid,
} from '@prestabot/domain';

export type SendRequest = {
  readonly phoneNumberId: PhoneNumberId;
  /** The token of the number that sends (or the deployment's fallback); chosen by `SendReply`. */
  readonly accessToken: string;
  readonly recipient?: Recipient;
  readonly message: OutboundMessage;
  readonly replyTo?: Wamid;
  /** Echoed back in this message's status webhooks. */
  readonly callbackData?: string;
  /**
   * Its send slot: a gateway that paces sends holds the request until then. The sender prepares it (reads
   * the token) ahead of the slot, so storage latency does not make it leave late.
   */
  readonly notBefore?: Date;
  /**
   * The latest moment the request may leave for Graph (its send slot, plus what the pacing margin
   * absorbs). A gateway that paces sends answers `send_slot_missed` past it, without sending.
   */
  readonly deadline?: Date;
  /**
   * The moment Graph must have answered by (sooner than the gateway's own request timeout): past it the
   * request is given up as unanswered (retryable). The sender's lease must still hold when it records the
   * answer, or another worker could send the message too.
   */
  readonly answerBy?: Date;
};

export type SendAccepted = {
  /** Absent for mark-as-read, which Graph answers with `{ success: true }`. */
  readonly wamid?: Wamid;
};

type GraphFailure = { readonly code: number; readonly title?: string; readonly details?: string };

/** Why Graph did not take a message, classified by Meta's error code (never by HTTP status). */
export type SendFailure =
  /**
   * Throttling, 5xx, network: the same request may succeed later (after `retryAfterMs` if Meta said).
   * `outcomeUnknown`: the request may have reached Graph (a timeout, a connection lost after sending, a
   * 2xx without a message id), so Meta may have sent it: only its status webhooks can tell.
   */
  | ({
      readonly type: 'send_retryable';
      readonly retryAfterMs?: number;
      readonly outcomeUnknown?: true;
    } & Partial<GraphFailure>)
  /** Too many messages to this one recipient: hold that recipient, not the number. */
  | ({ readonly type: 'send_pair_rate_limited'; readonly retryAfterMs?: number } & GraphFailure)
  /** The token was rejected (190): flag the number, stop sending for it. */
  | ({ readonly type: 'send_token_invalid' } & GraphFailure)
  /** The 24-hour window is closed: only a template can reach this person. */
  | ({ readonly type: 'send_window_closed' } & GraphFailure)
  /** Meta's spam rate limit (131048): the number's messages were blocked or reported; back off for hours. */
  | ({ readonly type: 'send_spam_limited' } & GraphFailure)
  /** The person's marketing limit (131049): not today. */
  | ({ readonly type: 'send_marketing_limited' } & GraphFailure)
  /** The template is paused (132015) or disabled (132016): stop using it. */
  | ({ readonly type: 'send_template_stopped' } & GraphFailure)
  /** A policy block or a locked account (368, 131031): stop sending on the number. */
  | ({ readonly type: 'send_number_blocked' } & GraphFailure)
  /** Anything else Graph refused; retrying the same request cannot help. */
  | ({ readonly type: 'send_rejected' } & GraphFailure)
  /** Not sent: its `deadline` passed first. Sent late it could push the number over its rate. */
  | { readonly type: 'send_slot_missed' };

/** A failure in one line for logs and operators: Meta's title and code where there are some. */
export const describeSendFailure = (failure: SendFailure): string =>
  failure.type === 'send_slot_missed'
    ? 'its send slot passed before it could leave'
    : `${failure.title ?? failure.type}${failure.code === undefined ? '' : ` (code ${failure.code})`}`;

/** Sends one message through Meta's Graph API as one number. */
export interface MessagingGateway {
  send(request: SendRequest): ResultAsync<SendAccepted, SendFailure>;
}

/** Turns an error Graph returned into what a sender must do about it, keyed on Meta's error code. */
export const sendFailureOf = (error: GraphFailure & { readonly retryAfterMs?: number }): SendFailure => {
  const graph: GraphFailure = {
    code: error.code,
    ...defined({ title: error.title }),
    ...defined({ details: error.details }),
  };
  const retryAfter = defined({ retryAfterMs: error.retryAfterMs });
  switch (classifyGraphErrorCode(error.code)) {
    case 'retryable':
      return { type: 'send_retryable', ...graph, ...retryAfter };
    case 'pair_rate_limited':
      return { type: 'send_pair_rate_limited', ...graph, ...retryAfter };
    case 'token_invalid':
      return { type: 'send_token_invalid', ...graph };
    case 'window_closed':
      return { type: 'send_window_closed', ...graph };
    case 'spam_limited':
      return { type: 'send_spam_limited', ...graph };
    case 'marketing_limited':
      return { type: 'send_marketing_limited', ...graph };
    case 'template_stopped':
      return { type: 'send_template_stopped', ...graph };
    case 'number_blocked':
      return { type: 'send_number_blocked', ...graph };
    case 'permanent':
      return { type: 'send_rejected', ...graph };
  }
};
