import type { OutboundEnvelope } from '@prestabot/adapters-meta';
import { type Wamid, windowClosedCode } from '@prestabot/domain';
import type { AutoStatusSettings } from './fake-graph.ts';
import { titleOf } from './graph-errors.ts';
import { delay } from './http.ts';
import type { FakeNumber } from './numbers.ts';
import type { WebhookItemSpec } from './webhooks/items.ts';

/** The statuses the fake reports by itself for the messages it accepted, as Meta's delivery pipeline does. */
export class AutoStatuses {
  readonly #settings: AutoStatusSettings | undefined;
  /** False when the fake has no webhook target to report to. */
  readonly #reporting: boolean;
  readonly #emit: (items: readonly WebhookItemSpec[]) => Promise<unknown>;
  readonly #statusTimers = new Set<NodeJS.Timeout>();
  readonly #emits = new Set<Promise<unknown>>();
  #queuedStatuses: WebhookItemSpec[] = [];
  #flushScheduled = false;

  constructor(
    settings: AutoStatusSettings | undefined,
    reporting: boolean,
    emit: (items: readonly WebhookItemSpec[]) => Promise<unknown>,
  ) {
    this.#settings = settings;
    this.#reporting = reporting;
    this.#emit = emit;
  }

  schedule(number: FakeNumber, accepted: OutboundEnvelope, wamid: Wamid): void {
    const settings = this.#settings;
    if (!this.#reporting) return;
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

  /** Resolves once every status scheduled was emitted. */
  async settled(): Promise<void> {
    while (this.#statusTimers.size > 0 || this.#flushScheduled || this.#emits.size > 0) {
      await (this.#emits.size > 0 ? Promise.allSettled(this.#emits) : delay(5));
    }
  }

  /** Forgets the statuses not yet due. */
  cancel(): void {
    for (const timer of this.#statusTimers) clearTimeout(timer);
    this.#statusTimers.clear();
  }

  /** Keeps an emission in hand until it is over, so `settled` and `close` wait for it. */
  #track(emit: Promise<unknown>): void {
    this.#emits.add(emit);
    void emit.catch(() => undefined).finally(() => this.#emits.delete(emit));
  }

  #statusAfter(ms: number, status: WebhookItemSpec): void {
    const timer = setTimeout(() => {
      this.#statusTimers.delete(timer);
      if (this.#settings?.separately === true) {
        this.#track(this.#emit([status]));
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
        this.#track(this.#emit(batch));
      });
    }, ms);
    this.#statusTimers.add(timer);
  }
}
