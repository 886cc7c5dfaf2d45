/** Every metric the application reports; hosts expose them (Prometheus on the Node host). */
export type CounterName =
  | 'webhook_requests_total'
  | 'webhook_unknown_number_total'
  | 'webhook_items_total'
  | 'webhook_number_errors_total'
  | 'inbound_messages_total'
  | 'delivery_statuses_total'
  | 'outbound_messages_total'
  | 'outbound_skipped_total'
  | 'token_fallback_total';

export type HistogramName = 'rate_limiter_wait_seconds' | 'outbox_send_lag_seconds' | 'reminder_lag_seconds';

export type GaugeName = 'queue_depth' | 'queue_oldest_age_seconds';

export type MetricLabels = Readonly<Record<string, string>>;

export interface Metrics {
  increment(name: CounterName, labels?: MetricLabels, by?: number): void;
  observe(name: HistogramName, value: number, labels?: MetricLabels): void;
  set(name: GaugeName, value: number, labels?: MetricLabels): void;
}
