/** A reply the fake Graph API accepted: to whom, and when (epoch ms). */
export type AcceptedReply = { readonly recipient: string; readonly receivedAt: number };

/** What one scenario shows. */
export type Figures = {
  readonly scenario: string;
  readonly messages: number;
  /** Messages acknowledged (200) and never answered. */
  readonly lost: number;
  /** Replies beyond the one each message gets. */
  readonly duplicates: number;
  /** 5xx answers to signed deliveries of well-formed messages. */
  readonly serverErrors: number;
  /** 5xx answers to signed, structurally mutated payloads (must be none). */
  readonly fuzzServerErrors: number;
  /** Deliveries that got no answer at all (the process was down). */
  readonly refused: number;
  /** From the last fault to the first message delivered after it being answered (ms), if a fault was injected. */
  readonly recoveryMs: number | undefined;
  /** From a message's first delivery to its reply (ms). */
  readonly p50DelayMs: number;
  readonly p99DelayMs: number;
  /** What else the scenario saw, in words. */
  readonly notes: readonly string[];
};

const digits = (phone: string) => phone.replace(/^\+/, '');

export const percentileOf = (sorted: readonly number[], share: number): number =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil(share * sorted.length) - 1)]!;

export type TallyInput = {
  readonly scenario: string;
  /** Message i came from senders[i]; each gets exactly one reply. */
  readonly senders: readonly string[];
  readonly firstPostAt: ArrayLike<number>;
  readonly acknowledgedAt: ArrayLike<number>;
  readonly replies: readonly AcceptedReply[];
  readonly byStatus: ReadonlyMap<number, number>;
  readonly fuzzServerErrors?: number;
  /** When the faults were injected (epoch ms). */
  readonly faultTimes?: readonly number[];
  readonly notes?: readonly string[];
};

/**
 * Lost, duplicates and delays, read from what the fake accepted. A message is lost when it was
 * acknowledged and no reply reached its sender; every reply past the first to a sender is a duplicate.
 */
export const tally = (input: TallyInput): Figures => {
  const repliesBySender = new Map<string, number[]>();
  for (const reply of input.replies) {
    const times = repliesBySender.get(digits(reply.recipient)) ?? [];
    times.push(reply.receivedAt);
    repliesBySender.set(digits(reply.recipient), times);
  }
  let lost = 0;
  let duplicates = 0;
  const delays: number[] = [];
  const answeredAt: number[] = [];
  input.senders.forEach((sender, index) => {
    const times = repliesBySender.get(digits(sender));
    if (times === undefined) {
      if ((input.acknowledgedAt[index] ?? 0) > 0) lost += 1;
      return;
    }
    duplicates += times.length - 1;
    const first = Math.min(...times);
    delays.push(first - (input.firstPostAt[index] ?? first));
    answeredAt.push(index);
  });
  delays.sort((a, b) => a - b);
  const lastFault =
    input.faultTimes === undefined || input.faultTimes.length === 0
      ? undefined
      : Math.max(...input.faultTimes);
  const recoveryMs =
    lastFault === undefined
      ? undefined
      : (() => {
          // The first message first delivered after the fault that got its answer: the system works again.
          let best: number | undefined;
          for (const index of answeredAt) {
            const postedAt = input.firstPostAt[index] ?? 0;
            if (postedAt < lastFault) continue;
            const first = Math.min(...(repliesBySender.get(digits(input.senders[index]!)) ?? []));
            best = best === undefined ? first : Math.min(best, first);
          }
          return best === undefined ? undefined : best - lastFault;
        })();
  let serverErrors = 0;
  for (const [status, times] of input.byStatus) if (status >= 500) serverErrors += times;
  return {
    scenario: input.scenario,
    messages: input.senders.length,
    lost,
    duplicates,
    serverErrors,
    fuzzServerErrors: input.fuzzServerErrors ?? 0,
    refused: input.byStatus.get(0) ?? 0,
    recoveryMs,
    p50DelayMs: percentileOf(delays, 0.5),
    p99DelayMs: percentileOf(delays, 0.99),
    notes: input.notes ?? [],
  };
};
