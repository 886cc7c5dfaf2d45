import {
  type CounterName,
  type GaugeName,
  type HistogramName,
  type MetricLabels,
  type Metrics,
  metricCatalog,
} from '@prestabot/application';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

const counters: readonly CounterName[] = [
  'webhook_requests_total',
  'webhook_unknown_number_total',
  'webhook_items_total',
  'webhook_number_errors_total',
  'inbound_messages_total',
  'inbox_abandoned_total',
  'reminders_abandoned_total',
  'delivery_statuses_total',
  'outbound_messages_total',
  'outbound_skipped_total',
  'token_fallback_total',
  'messaging_limit_released_total',
  'db_statements_total',
  'db_round_trips_total',
  'db_transactions_total',
];
const histograms: readonly HistogramName[] = [
  'rate_limiter_wait_seconds',
  'outbox_send_lag_seconds',
  'reminder_lag_seconds',
];
const gauges: readonly GaugeName[] = ['queue_depth', 'queue_oldest_age_seconds', 'messaging_limit_held'];

const prefix = 'prestabot_';

/** The application's metrics in a Prometheus registry, served as text at `GET /metrics`. */
export class PrometheusMetrics implements Metrics {
  readonly registry = new Registry();
  readonly #counters = new Map<string, Counter>();
  readonly #histograms = new Map<string, Histogram>();
  readonly #gauges = new Map<string, Gauge>();

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix });
    for (const name of counters)
      this.#counters.set(
        name,
        new Counter({
          name: prefix + name,
          help: metricCatalog[name].help,
          labelNames: metricCatalog[name].labels,
          registers: [this.registry],
        }),
      );
    for (const name of histograms) {
      this.#histograms.set(
        name,
        new Histogram({
          name: prefix + name,
          help: metricCatalog[name].help,
          labelNames: metricCatalog[name].labels,
          registers: [this.registry],
          buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
        }),
      );
    }
    for (const name of gauges)
      this.#gauges.set(
        name,
        new Gauge({
          name: prefix + name,
          help: metricCatalog[name].help,
          labelNames: metricCatalog[name].labels,
          registers: [this.registry],
        }),
      );
  }

  increment(name: CounterName, labels: MetricLabels = {}, by = 1): void {
    this.#counters.get(name)?.inc(declared(name, labels), by);
  }

  observe(name: HistogramName, value: number, labels: MetricLabels = {}): void {
    this.#histograms.get(name)?.observe(declared(name, labels), value);
  }

  set(name: GaugeName, value: number, labels: MetricLabels = {}): void {
    this.#gauges.get(name)?.set(declared(name, labels), value);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}

/** Only the catalogue's labels reach Prometheus, so a stray label can never explode the series count. */
const declared = (
  name: CounterName | HistogramName | GaugeName,
  labels: MetricLabels,
): Record<string, string> =>
  Object.fromEntries(metricCatalog[name].labels.map((label) => [label, labels[label] ?? '']));
