import {
  type AgreementId,
  type Contact,
  defined,
  isWindowOpen,
  type OutboundMessage,
  ok,
  okAsync,
  type PhoneNumberId,
  type ResultAsync,
  recipientOf,
  safeTry,
  type Tenant,
  templateMessage,
  textMessage,
} from '@prestabot/domain';
import type { StorageError } from '../errors.ts';
import { built } from '../handle-inbound/main-menu-responder.ts';
import type { Clock } from '../ports/clock.port.ts';
import type { IdGenerator } from '../ports/id-generator.port.ts';
import type { Logger } from '../ports/logger.port.ts';
import type { Metrics } from '../ports/metrics.port.ts';
import type { OutboxOrigin } from '../ports/outbox.port.ts';
import type { TenantRepositories } from '../ports/unit-of-work.port.ts';
import type { Catalog } from '../texts/catalog.ts';
import { loanButtonId } from './loan-ids.ts';
import type { RegisteredTemplate, TemplatePurpose, TemplateVariable } from './loan-stores.port.ts';

/** A message the bot starts (not a reply): a confirmation request, a notice, a reminder. */
export type Notice = {
  readonly to: Contact;
  readonly phoneNumberId: PhoneNumberId;
  /** What to send while the person's 24-hour window is open. */
  readonly message: OutboundMessage;
  /** The approved template to send outside the window, and the values for its parameters. */
  readonly template: {
    readonly purpose: TemplatePurpose;
    readonly values: Readonly<Record<TemplateVariable, string>>;
    readonly agreementId: AgreementId;
  };
  readonly idempotencyKey: string;
  readonly origin: OutboxOrigin;
  readonly priority: number;
};

export type NoticeOutcome =
  | {
      readonly kind: 'queued';
      readonly outboxId: string;
      readonly asTemplate: boolean;
      /** A template that waits behind its portfolio's messaging limit (see `OutboxQueue`). */
      readonly heldBehindLimit: boolean;
    }
  | { readonly kind: 'skipped'; readonly reason: 'opted_out' | 'no_template' | 'no_recipient' }
  /** A notice with this idempotency key is already in the outbox. */
  | { readonly kind: 'already_queued' };

/**
 * What to tell the person who acted when the other party could not be told, or will be told only once
 * the messaging limit allows; nothing when they were. Said once: in the one reply to that action.
 */
export const undeliveredNote = (
  outcome: NoticeOutcome,
  otherName: string,
  texts: Catalog,
): string | undefined => {
  if (outcome.kind === 'queued' && outcome.heldBehindLimit)
    return texts.notDelivered.heldBehindLimit(otherName);
  if (outcome.kind !== 'skipped' || outcome.reason === 'no_recipient') return undefined;
  return outcome.reason === 'opted_out'
    ? texts.notDelivered.optedOut(otherName)
    : texts.notDelivered.noTemplate(otherName);
};

/** One message for one outcome: what happened, then, when there is one, what the person should know. */
export const withNote = (reply: string, note: string | undefined): OutboundMessage =>
  built(textMessage(note === undefined ? reply : `${reply}\n\n${note}`));

/** Business-initiated messages go after replies in their number's queue. */
export const noticePriority = 5;

/** The template language for a tenant locale: Meta writes `es_CL`. */
export const templateLanguageOf = (tenant: Tenant): string => tenant.locale.replace('-', '_');

export const renderTemplate = (
  template: RegisteredTemplate,
  values: Readonly<Record<TemplateVariable, string>>,
  agreementId: AgreementId,
): OutboundMessage =>
  built(
    templateMessage({
      name: template.name,
      language: template.language,
      components: [
        ...(template.parameters.length === 0
          ? []
          : [
              {
                type: 'body' as const,
                parameters: template.parameters.map(({ variable, name }) => ({
                  type: 'text' as const,
                  text: values[variable],
                  ...defined({ name }),
                })),
              },
            ]),
        ...template.quickReplies.map((action, index) => ({
          type: 'quick_reply_button' as const,
          index,
          payload: loanButtonId(agreementId, action),
        })),
      ],
    }),
  );

/**
 * Sends what the bot starts, the way WhatsApp allows: never to someone who opted out; free-form inside the
 * person's 24-hour window (with the template kept as fallback, should Meta say the window closed);
 * the approved template outside it; and, with no template, not at all — logged and counted, never silent.
 */
export class Notifier {
  readonly #deps: {
    readonly ids: IdGenerator;
    readonly clock: Clock;
    readonly logger: Logger;
    readonly metrics: Metrics;
  };

  constructor(dependencies: {
    readonly ids: IdGenerator;
    readonly clock: Clock;
    readonly logger: Logger;
    readonly metrics: Metrics;
  }) {
    this.#deps = dependencies;
  }

  send(
    notice: Notice,
    tenant: Tenant,
    repositories: TenantRepositories,
  ): ResultAsync<NoticeOutcome, StorageError> {
    const { ids, clock, logger, metrics } = this.#deps;
    const now = clock.now();
    const fields = {
      tenantId: tenant.id,
      phoneNumberId: notice.phoneNumberId,
      contactId: notice.to.id,
      purpose: notice.template.purpose,
    };
    const skip = (reason: 'opted_out' | 'no_template' | 'no_recipient', message: string) => {
      metrics.increment('outbound_skipped_total', { reason });
      logger.warn({ ...fields, reason }, message);
      return ok({ kind: 'skipped' as const, reason });
    };
    if (notice.to.optedOut)
      return okAsync(undefined).andThen(() => skip('opted_out', 'notice not sent: the recipient opted out'));
    const recipient = recipientOf(notice.to);
    if (recipient === undefined)
      return okAsync(undefined).andThen(() =>
        skip('no_recipient', 'notice not sent: the contact has no phone or user id'),
      );
    return safeTry(async function* () {
      const lastInbound = yield* repositories.messages.lastInboundAt(notice.phoneNumberId, notice.to.id);
      const registered = yield* repositories.templates.find(
        notice.template.purpose,
        templateLanguageOf(tenant),
      );
      const template =
        registered === undefined
          ? undefined
          : renderTemplate(registered, notice.template.values, notice.template.agreementId);
      const windowOpen = isWindowOpen(lastInbound, now);
      if (!windowOpen && template === undefined) {
        return skip(
          'no_template',
          `notice not sent: the 24-hour window is closed and no approved "${notice.template.purpose}" template is registered`,
        );
      }
      // Asked before it is queued, so it does not count itself among those held.
      const room = windowOpen
        ? undefined
        : yield* repositories.outbox.messagingLimitRoom(notice.phoneNumberId, recipient, now);
      const id = ids.uuid();
      const { enqueued } = yield* repositories.outbox.enqueue([
        {
          id,
          phoneNumberId: notice.phoneNumberId,
          recipient,
          contactId: notice.to.id,
          message: windowOpen ? notice.message : template!,
          ...(windowOpen && template !== undefined ? { fallback: template } : {}),
          origin: notice.origin,
          idempotencyKey: notice.idempotencyKey,
          priority: notice.priority,
          notBefore: now,
          createdAt: now,
        },
      ]);
      const outboxId = enqueued[0];
      return ok(
        outboxId === undefined
          ? { kind: 'already_queued' as const }
          : {
              kind: 'queued' as const,
              outboxId,
              asTemplate: !windowOpen,
              heldBehindLimit: room !== undefined && room <= 0,
            },
      );
    });
  }
}
