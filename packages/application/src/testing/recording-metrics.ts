import type { CounterName, GaugeName, HistogramName, MetricLabels, Metrics } from '../ports/metrics.port.ts';

const keyOf = (name: string, labels: MetricLabels = {}): string =>
  `${name}${JSON.stringify(Object.fromEntries(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b))))}`;

/** Counts in memory, for assertions. */
export class RecordingMetrics implements Metrics {
  readonly #counters = new Map<string, number>();
  readonly #observations = new Map<string, number[]>();
  readonly #gauges = new Map<string, number>();

  increment(name: CounterName, labels?: MetricLabels, by = 1): void {
    const key = keyOf(name, labels);
    this.#counters.set(key, (this.#counters.get(key) ?? 0) + by);
  }

  observe(name: HistogramName, value: number, labels?: MetricLabels): void {
    const key = keyOf(name, labels);
    // Appended in place: copying on every observation made long benchmarks quadratic.
    const values = this.#observations.get(key);
    if (values === undefined) this.#observations.set(key, [value]);
    else values.push(value);
  }

  set(name: GaugeName, value: number, labels?: MetricLabels): void {
    this.#gauges.set(keyOf(name, labels), value);
  }

  /** The total of a counter over every label set that includes `labels`. */
  count(name: CounterName, labels: MetricLabels = {}): number {
    let total = 0;
    for (const [key, value] of this.#counters) {
      if (!key.startsWith(`${name}{`)) continue;
      const stored = JSON.parse(key.slice(name.length)) as Record<string, string>;
      if (Object.entries(labels).every(([label, wanted]) => stored[label] === wanted)) total += value;
    }
    return total;
  }

  observations(name: HistogramName, labels?: MetricLabels): readonly number[] {
    return [...(this.#observations.get(keyOf(name, labels)) ?? [])];
  }

  gauge(name: GaugeName, labels?: MetricLabels): number | undefined {
    return this.#gauges.get(keyOf(name, labels));
  }
}
