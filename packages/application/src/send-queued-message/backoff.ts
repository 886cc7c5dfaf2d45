/**
 * Full-jitter exponential backoff: a random wait in [0, min(cap, base·2^attempt)), so many failing
 * senders spread out instead of retrying in lockstep. Meta's `Retry-After` wins when it asks for longer.
 */
export const retryDelayMs = (
  attempt: number,
  random: () => number,
  options: { readonly baseMs: number; readonly capMs: number; readonly retryAfterMs?: number | undefined },
): number => {
  const ceiling = Math.min(options.capMs, options.baseMs * 2 ** Math.max(0, attempt));
  const jittered = Math.floor(random() * ceiling);
  return options.retryAfterMs === undefined ? jittered : Math.max(jittered, options.retryAfterMs);
};

/**
 * Meta's pair limit allows about one message every 6 s to the same person; back off 6 s, 24 s, 96 s…
 * (4^n · 6 s, capped) before writing to them again.
 */
export const pairRateHoldMs = (attempt: number, capMs = 15 * 60 * 1000): number =>
  Math.min(capMs, 6000 * 4 ** Math.max(0, attempt));
