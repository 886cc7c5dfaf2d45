/** Every metric the application reports; hosts expose them (Prometheus on the Node host). */
export type CounterName =
  | 'webhook_requests_total'
  | 'webhook_unknown_number_total'
  | 'webhook_items_total'
  | 'webhook_number_errors_total'
  | 'inbound_messages_total'
  | 'inbox_abandoned_total'
  | 'reminders_abandoned_total'
  | 'delivery_statuses_total'
  | 'outbound_messages_total'
  | 'outbound_skipped_total'
  | 'token_fallback_total'
  | 'messaging_limit_released_total'
  | 'db_statements_total'
  | 'db_round_trips_total'
  | 'db_transactions_total';

export type HistogramName = 'rate_limiter_wait_seconds' | 'outbox_send_lag_seconds' | 'reminder_lag_seconds';

export type GaugeName = 'queue_depth' | 'queue_oldest_age_seconds' | 'messaging_limit_held';

export type MetricLabels = Readonly<Record<string, string>>;

/**
 * The labels each metric may carry, and what it means. Labels are few and bounded on purpose: no tenant
 * or number ids, which would grow with the number of customers.
 */
export const metricCatalog: Readonly<
  Record<
    CounterName | HistogramName | GaugeName,
    { readonly help: string; readonly labels: readonly string[] }
  >
> = {
  webhook_requests_total: {
    help: 'Webhook requests by outcome (accepted, verified, or the error type)',
    labels: ['outcome'],
  },
  webhook_unknown_number_total: { help: 'Webhook items for a phone_number_id no tenant has', labels: [] },
  webhook_items_total: {
    help: 'Webhook items by outcome (recorded, duplicate, rejected)',
    labels: ['outcome'],
  },
  webhook_number_errors_total: { help: 'Errors Meta reported about a number, by code', labels: ['code'] },
  inbound_messages_total: { help: 'Inbound messages processed, by content type', labels: ['type'] },
  inbox_abandoned_total: {
    help: 'Inbox entries given up after their last attempt (kept, with their error, for an operator)',
    labels: [],
  },
  reminders_abandoned_total: {
    help: 'Reminders given up after their last attempt (skipped, with the reason, for an operator)',
    labels: [],
  },
  delivery_statuses_total: {
    help: 'Delivery statuses received, by status and error code',
    labels: ['status', 'code'],
  },
  outbound_messages_total: {
    help: 'Outbound send outcomes, by status, message type and error code',
    labels: ['status', 'type', 'code'],
  },
  outbound_skipped_total: { help: 'Business-initiated messages not sent, by reason', labels: ['reason'] },
  token_fallback_total: {
    help: 'Sends that used WHATSAPP_ACCESS_TOKEN because the number had no token',
    labels: [],
  },
  messaging_limit_released_total: {
    help: 'Business-initiated messages sent after the messaging limit held them',
    labels: [],
  },
  db_statements_total: { help: 'Statements sent to the database', labels: [] },
  db_round_trips_total: {
    help: 'Round trips to the database (statements pipelined behind another count with it)',
    labels: [],
  },
  db_transactions_total: {
    help: 'Database transactions ended, by outcome (commit, rollback)',
    labels: ['outcome'],
  },
  rate_limiter_wait_seconds: {
    help: 'Time a claimed message waited for its send to start (a lead before its slot)',
    labels: [],
  },
  outbox_send_lag_seconds: { help: 'Time from a message being due to Graph accepting it', labels: [] },
  reminder_lag_seconds: { help: 'Time from a reminder being due to it being queued', labels: [] },
  queue_depth: { help: 'Due entries waiting, by queue', labels: ['queue'] },
  queue_oldest_age_seconds: { help: 'Age of the oldest due entry, by queue', labels: ['queue'] },
  messaging_limit_held: {
    help: "Business-initiated messages waiting for room under their portfolio's messaging limit",
    labels: [],
  },
};

export interface Metrics {
  increment(name: CounterName, labels?: MetricLabels, by?: number): void;
  observe(name: HistogramName, value: number, labels?: MetricLabels): void;
  set(name: GaugeName, value: number, labels?: MetricLabels): void;
}
