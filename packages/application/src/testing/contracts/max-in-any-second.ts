/** The most sends that fall into any one-second window [t, t + 1 s). */
export const maxInAnySecond = (times: readonly Date[]): number => {
  const sorted = times.map((time) => time.getTime()).sort((a, b) => a - b);
  let best = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end += 1) {
    while (sorted[end]! - sorted[start]! >= 1000) start += 1;
    best = Math.max(best, end - start + 1);
  }
  return best;
};
