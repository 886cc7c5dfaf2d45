import { defined, okAsync, type ResultAsync, windowClosedCode } from '@prestabot/domain';
import type { StorageError } from '../errors.ts';
import type { Clock } from '../ports/clock.port.ts';
import type { IdGenerator } from '../ports/id-generator.port.ts';
import type { Logger } from '../ports/logger.port.ts';
import type { StatusChange, StatusOutcome } from '../ports/message-log.port.ts';
import type { TenantRepositories } from '../ports/unit-of-work.port.ts';
import type { StatusListener } from '../process-inbox/process-inbox.ts';

/**
 * What a delivery status means beyond the message itself: a reminder learns what became of its message,
 * and a free-form message that Meta failed with 131047 (the 24-hour window had closed after all) is sent
 * again as the approved template it carried.
 */
export class DeliveryFollowUp implements StatusListener {
  readonly #deps: { readonly ids: IdGenerator; readonly clock: Clock; readonly logger: Logger };

  /** Reminders learn every status of their message; any message may fail with 131047. */
  readonly interest = { origins: ['reminder'], statuses: ['failed'] } as const;

  constructor(dependencies: { readonly ids: IdGenerator; readonly clock: Clock; readonly logger: Logger }) {
    this.#deps = dependencies;
  }

  onStatus(
    change: StatusChange,
    outcome: StatusOutcome,
    repositories: TenantRepositories,
  ): ResultAsync<void, StorageError> {
    const linked =
      outcome.origin.kind === 'reminder'
        ? repositories.reminders.recordDelivery(outcome.origin.reminderId, outcome.current)
        : okAsync(undefined);
    // Run again (a crash before its entry was completed), this enqueues nothing new: the template's
    // idempotency key names the message it replaces.
    const windowClosed =
      outcome.current === 'failed' && change.errors.some((error) => error.code === windowClosedCode);
    if (!windowClosed) return linked;
    return linked.andThen(() =>
      repositories.outbox.get(outcome.outboxId).andThen((sent) => {
        if (sent?.fallback === undefined || sent.recipient === undefined) return okAsync(undefined);
        const now = this.#deps.clock.now();
        this.#deps.logger.info(
          { outboxId: sent.id, wamid: change.wamid },
          'window closed (131047): sending the approved template instead',
        );
        return repositories.outbox
          .enqueue([
            {
              id: this.#deps.ids.uuid(),
              phoneNumberId: sent.phoneNumberId,
              recipient: sent.recipient,
              ...defined({ contactId: sent.contactId }),
              message: sent.fallback,
              origin: sent.origin,
              idempotencyKey: `fallback:${sent.id}`,
              priority: sent.priority,
              notBefore: now,
              createdAt: now,
            },
          ])
          .map(() => undefined);
      }),
    );
  }
}
