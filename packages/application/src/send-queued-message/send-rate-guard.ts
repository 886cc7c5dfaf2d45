import { defaultRatePerSecond, errAsync, type PhoneNumberId, ResultAsync } from '@prestabot/domain';
import type { Clock } from '../ports/clock.port.ts';
import type { Logger } from '../ports/logger.port.ts';
import type { MessagingGateway, SendFailure, SendRequest } from '../ports/messaging-gateway.port.ts';
import type { TenantDirectory } from '../ports/tenant-directory.port.ts';
import type { Timers } from '../ports/timers.port.ts';
import { slotSpacingMs } from './send-pacing.ts';

/**
 * The guard's window: halfway between Meta's second and the span of `rate` claim slots (1000/`sendRateShare`
 * ms). Shorter than the slots' span, so a send that left a little late does not hold the one `rate` slots
 * after it: were the two spans equal, each hold would be recorded as a later send and the lateness would
 * carry over from one second to the next until every slot was missed. Longer than a second, so sends the
 * guard does hold keep half the margin against the jitter between leaving here and Meta counting them.
 */
const guardWindowMs = Math.floor((1000 + slotSpacingMs(1)) / 2);

/** A number's last `rate` send times, in a ring: the next send may leave once the oldest is a window old. */
class SendTimes {
  #times: number[] = [];
  #next = 0;
  #rate: number;

  constructor(rate: number) {
    this.#rate = rate;
  }

  get rate(): number {
    return this.#rate;
  }

  set rate(rate: number) {
    if (rate === this.#rate) return;
    const ordered = [...this.#times.slice(this.#next), ...this.#times.slice(0, this.#next)];
    this.#times = ordered.slice(-rate);
    this.#rate = rate;
    this.#next = this.#times.length % rate;
  }

  get nextAllowedAt(): number {
    return this.#times.length < this.#rate
      ? Number.NEGATIVE_INFINITY
      : this.#times[this.#next]! + guardWindowMs;
  }

  get lastAt(): number {
    return this.#times.length === 0 ? Number.NEGATIVE_INFINITY : this.#times.at(this.#next - 1)!;
  }

  record(at: number): void {
    if (this.#times.length < this.#rate) this.#times.push(at);
    else this.#times[this.#next] = at;
    this.#next = (this.#next + 1) % this.#rate;
  }
}

type GuardedNumber = { readonly times: SendTimes; readonly waiting: (() => void)[] };

/** A token Graph rejected, when, and the sequence number of the first send that started after it. */
type RejectedToken = {
  readonly accessToken: string;
  readonly at: number;
  readonly before: number;
  readonly failure: SendFailure;
};

/** Held sends wait for their slot and the window, a few seconds at most; a rejection is kept far longer. */
const rejectedTokenMemoryMs = 60_000;

export type SendRateGuardDependencies = {
  /** Each number's rate; a caching directory keeps this cheap. */
  readonly directory: TenantDirectory;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Where held sends wait: the host's timers, or manual ones in tests. */
  readonly timers: Timers;
};

/**
 * Never lets more than a number's rate leave this process in any one-second window, measured where it
 * matters: right before the HTTP request. Each send is held until its slot; sends that keep to their
 * slots then pass straight through, and the guard only holds further those that bunch up, e.g. when
 * timers fire late after an event-loop stall. Held sends leave in order, one by one.
 */
export class SendRateGuard {
  readonly #deps: SendRateGuardDependencies;
  readonly #timers: Timers;
  readonly #numbers = new Map<PhoneNumberId, GuardedNumber>();
  /**
   * Each number's last token Graph rejected: sends that were already held with it then are not tried. A
   * send that starts later asks Graph again (the same token may have been restored).
   */
  readonly #rejectedTokens = new Map<PhoneNumberId, RejectedToken>();
  /** Numbers the sends in the order they reach the guard. */
  #sendSequence = 0;
  #lastSweepAt = Number.NEGATIVE_INFINITY;

  constructor(dependencies: SendRateGuardDependencies) {
    this.#deps = dependencies;
    this.#timers = dependencies.timers;
  }

  /**
   * `gateway`, behind this guard. A request is held until its `notBefore` (its slot). One whose `deadline`
   * has passed, before or after waiting here, is answered `send_slot_missed` without reaching Graph: other
   * processes keep sending in their slots, and a late send on top of theirs could put one message too many
   * into a second. One held with a token Graph rejected meanwhile is answered as Graph answered (190)
   * without asking again.
   */
  guard(gateway: MessagingGateway): MessagingGateway {
    const missed = (request: SendRequest) =>
      request.deadline !== undefined && this.#deps.clock.now().getTime() > request.deadline.getTime();
    const slotMissed: SendFailure = { type: 'send_slot_missed' };
    return {
      send: (request) => {
        if (missed(request)) return errAsync(slotMissed);
        this.#sendSequence += 1;
        const sequence = this.#sendSequence;
        const rejectedMeanwhile = () => {
          const rejected = this.#rejectedTokens.get(request.phoneNumberId);
          return rejected !== undefined &&
            rejected.accessToken === request.accessToken &&
            sequence < rejected.before
            ? rejected
            : undefined;
        };
        // The rate is read while the send waits for its slot: a lookup after it would make the send late.
        const rate = this.#rateOf(request.phoneNumberId);
        return ResultAsync.fromSafePromise(
          Promise.all([rate, this.#until(request.notBefore)]).then(([rateNow]) =>
            this.#admit(request.phoneNumberId, rateNow),
          ),
        ).andThen(() => {
          const rejected = rejectedMeanwhile();
          if (rejected !== undefined) return errAsync(rejected.failure);
          if (missed(request)) return errAsync(slotMissed);
          return gateway.send(request).mapErr((failure) => {
            if (failure.type === 'send_token_invalid')
              this.#rejectedTokens.set(request.phoneNumberId, {
                accessToken: request.accessToken,
                at: this.#deps.clock.now().getTime(),
                before: this.#sendSequence + 1,
                failure,
              });
            return failure;
          });
        });
      },
    };
  }

  #until(moment: Date | undefined): Promise<void> {
    const waitMs = moment === undefined ? 0 : moment.getTime() - this.#deps.clock.now().getTime();
    if (waitMs <= 0) return Promise.resolve();
    return new Promise((resolve) => this.#timers.setTimeout(resolve, Math.ceil(waitMs)));
  }

  /**
   * Takes the send's place in the window, waiting for one if need be. A send refused after that (late, or
   * its token rejected meanwhile) keeps the place: the margin it leaves absorbs some jitter between
   * leaving here and Meta counting.
   */
  async #admit(phoneNumberId: PhoneNumberId, rate: number): Promise<void> {
    const now = this.#deps.clock.now().getTime();
    this.#sweep(now);
    const number = this.#numbers.get(phoneNumberId) ?? { times: new SendTimes(rate), waiting: [] };
    this.#numbers.set(phoneNumberId, number);
    number.times.rate = rate;
    if (number.waiting.length === 0 && number.times.nextAllowedAt <= now) {
      number.times.record(now);
      return;
    }
    await new Promise<void>((resolve) => {
      number.waiting.push(resolve);
      if (number.waiting.length === 1) this.#releaseLater(number, now);
    });
  }

  #release(number: GuardedNumber): void {
    const now = this.#deps.clock.now().getTime();
    while (number.waiting.length > 0 && number.times.nextAllowedAt <= now) {
      number.times.record(now);
      number.waiting.shift()!();
    }
    if (number.waiting.length > 0) this.#releaseLater(number, now);
  }

  #releaseLater(number: GuardedNumber, now: number): void {
    this.#timers.setTimeout(() => this.#release(number), Math.ceil(number.times.nextAllowedAt - now));
  }

  /** A failed lookup keeps the rate last known; the claim's slots still pace the number meanwhile. */
  async #rateOf(phoneNumberId: PhoneNumberId): Promise<number> {
    const route = await this.#deps.directory.findNumber(phoneNumberId);
    if (route.isOk()) return route.value?.number.ratePerSecond ?? defaultRatePerSecond;
    this.#deps.logger.warn(
      { phoneNumberId, error: route.error.reason },
      `cannot read the rate of number ${phoneNumberId}: ${route.error.message}`,
    );
    return this.#numbers.get(phoneNumberId)?.times.rate ?? defaultRatePerSecond;
  }

  /** Numbers quiet for a whole window have nothing to remember, nor do rejections no held send predates. */
  #sweep(now: number): void {
    if (now - this.#lastSweepAt < guardWindowMs) return;
    this.#lastSweepAt = now;
    for (const [phoneNumberId, number] of this.#numbers) {
      if (number.waiting.length === 0 && now - number.times.lastAt >= guardWindowMs) {
        this.#numbers.delete(phoneNumberId);
      }
    }
    for (const [phoneNumberId, rejected] of this.#rejectedTokens) {
      if (now - rejected.at > rejectedTokenMemoryMs) this.#rejectedTokens.delete(phoneNumberId);
    }
  }
}
