import type {
  GraphErrorDetail,
  InboundContent,
  PhoneNumberId,
  Sender,
  StatusPricing,
  WabaId,
  Wamid,
  WebhookDeliveryStatus,
  WebhookItem,
} from '@prestabot/domain';
import { defined } from '@prestabot/domain';
import type { AcceptedMessage, FakeNumber } from '../numbers.ts';

/** Something a person sent to one of the fake's numbers. */
export type InboundMessageSpec = {
  readonly kind: 'message';
  readonly phoneNumberId: string;
  readonly from: Sender;
  readonly content: InboundContent;
  /** Default: a fresh wamid. */
  readonly wamid?: string;
  /** Default: now. */
  readonly sentAt?: Date;
  readonly replyTo?: string;
};

/** A delivery status of a message; for a wamid the fake issued, number, recipient and callback data are filled in. */
export type StatusSpec = {
  readonly kind: 'status';
  readonly wamid: string;
  readonly status: WebhookDeliveryStatus;
  readonly errors?: readonly GraphErrorDetail[];
  /** Default: now. */
  readonly at?: Date;
  readonly phoneNumberId?: string;
  readonly recipient?: Sender;
  readonly bizOpaqueCallbackData?: string;
  /**
   * The category Meta prices the message in. Default: `utility` for a template the fake accepted,
   * `service` for anything else. A `failed` status carries no pricing.
   */
  readonly pricingCategory?: string;
};

/** An error about a number, not tied to a message (`value.errors`). */
export type NumberErrorSpec = {
  readonly kind: 'error';
  readonly phoneNumberId: string;
  readonly errors: readonly GraphErrorDetail[];
};

export type WebhookItemSpec = InboundMessageSpec | StatusSpec | NumberErrorSpec;

export type ItemContext = {
  readonly number: (phoneNumberId: string) => FakeNumber | undefined;
  readonly acceptedMessage: (wamid: string) => AcceptedMessage | undefined;
  readonly newWamid: (phoneNumberId: string) => Wamid;
  readonly now: () => Date;
};

/** Webhook timestamps have whole seconds. */
const wholeSeconds = (at: Date): Date => new Date(Math.floor(at.getTime() / 1000) * 1000);

/**
 * The item exactly as Meta would report it (and as the webhook parser reads it back), with every default
 * filled in. Throws for a number the fake does not serve: that is a mistake in the test.
 */
export const resolveItem = (spec: WebhookItemSpec, context: ItemContext): WebhookItem => {
  const accepted = spec.kind === 'status' ? context.acceptedMessage(spec.wamid) : undefined;
  const phoneNumberId = spec.phoneNumberId ?? accepted?.phoneNumberId;
  const number = phoneNumberId === undefined ? undefined : context.number(phoneNumberId);
  if (number === undefined) {
    throw new Error(
      `the fake serves no number ${phoneNumberId ?? `for wamid ${spec.kind === 'status' ? spec.wamid : ''}`}`,
    );
  }
  const routing = {
    phoneNumberId: number.phoneNumberId as PhoneNumberId,
    displayPhoneNumber: number.displayPhoneNumber,
    wabaId: number.wabaId as WabaId,
  };
  switch (spec.kind) {
    case 'message':
      return {
        kind: 'message',
        ...routing,
        wamid: (spec.wamid ?? context.newWamid(number.phoneNumberId)) as Wamid,
        from: spec.from,
        sentAt: wholeSeconds(spec.sentAt ?? context.now()),
        ...(spec.replyTo === undefined ? {} : { replyTo: spec.replyTo as Wamid }),
        content: spec.content,
      };
    case 'status': {
      const recipient = spec.recipient ?? senderOf(accepted);
      const callbackData = spec.bizOpaqueCallbackData ?? accepted?.callbackData;
      const pricing =
        spec.status === 'failed'
          ? undefined
          : pricingOf(
              spec.pricingCategory ?? (accepted?.message.type === 'template' ? 'utility' : 'service'),
            );
      return {
        kind: 'status',
        ...routing,
        wamid: spec.wamid as Wamid,
        status: spec.status,
        at: wholeSeconds(spec.at ?? context.now()),
        recipient,
        errors: spec.errors ?? [],
        ...defined({ bizOpaqueCallbackData: callbackData }),
        ...defined({ pricing }),
      };
    }
    case 'error':
      return { kind: 'error', ...routing, errors: spec.errors };
  }
};

/**
 * Per-message pricing (PMP) as Meta reports it: a service message (a free-form reply inside the
 * customer-service window) is free, every other category is billed.
 */
const pricingOf = (category: string): StatusPricing =>
  category === 'service'
    ? { billable: false, pricingModel: 'PMP', type: 'free_customer_service', category }
    : { billable: true, pricingModel: 'PMP', type: 'regular', category };

const senderOf = (accepted: AcceptedMessage | undefined): Sender => {
  const recipient = accepted?.recipient;
  if (recipient === undefined) return {};
  return 'phone' in recipient ? { waId: recipient.phone.slice(1) } : { userId: recipient.userId };
};
