import type { FlowKeyDirectory } from './flows/flow-stores.port.ts';
import type { HandleInbound } from './handle-inbound/handle-inbound.ts';
import type { InboundResponder } from './handle-inbound/inbound-responder.port.ts';
import type { ReminderQueue } from './loans/loan-stores.port.ts';
import type { Clock } from './ports/clock.port.ts';
import type { FinishedWorkRetention } from './ports/finished-work-retention.port.ts';
import type { IdGenerator } from './ports/id-generator.port.ts';
import type { InboxQueue } from './ports/inbox.port.ts';
import type { LeaseRenewal } from './ports/lease-renewal.port.ts';
import type { Logger } from './ports/logger.port.ts';
import type { MessagingGateway } from './ports/messaging-gateway.port.ts';
import type { Metrics } from './ports/metrics.port.ts';
import type { OutboxQueue } from './ports/outbox.port.ts';
import type { SecretCipher } from './ports/secret-cipher.port.ts';
import type { AppRegistry, TenantDirectory } from './ports/tenant-directory.port.ts';
import type { TenantUnitOfWork } from './ports/unit-of-work.port.ts';
import type { UsageLedger } from './ports/usage-ledger.port.ts';
import type { WebhookParser, WebhookSignatureVerifier } from './ports/webhook.port.ts';
import type { StatusListener } from './process-inbox/process-inbox.ts';

/**
 * A port's service identifier: a plain symbol that remembers which interface it stands for. Composition
 * roots bind adapters to these; the application itself never touches a container.
 */
export type Token<T> = symbol & { readonly __port?: T };

const token = <T>(name: string): Token<T> => Symbol.for(`prestabot.${name}`) as Token<T>;

export const portTokens = {
  clock: token<Clock>('Clock'),
  ids: token<IdGenerator>('IdGenerator'),
  random: token<() => number>('Random'),
  logger: token<Logger>('Logger'),
  metrics: token<Metrics>('Metrics'),
  secretCipher: token<SecretCipher>('SecretCipher'),
  unitOfWork: token<TenantUnitOfWork>('TenantUnitOfWork'),
  tenantDirectory: token<TenantDirectory>('TenantDirectory'),
  appRegistry: token<AppRegistry>('AppRegistry'),
  inboxQueue: token<InboxQueue>('InboxQueue'),
  outboxQueue: token<OutboxQueue>('OutboxQueue'),
  reminderQueue: token<ReminderQueue>('ReminderQueue'),
  leaseRenewal: token<LeaseRenewal>('LeaseRenewal'),
  flowKeyDirectory: token<FlowKeyDirectory>('FlowKeyDirectory'),
  finishedWorkRetention: token<FinishedWorkRetention>('FinishedWorkRetention'),
  usageLedger: token<UsageLedger>('UsageLedger'),
  messagingGateway: token<MessagingGateway>('MessagingGateway'),
  webhookVerifier: token<WebhookSignatureVerifier>('WebhookSignatureVerifier'),
  webhookParser: token<WebhookParser>('WebhookParser'),
  /** Responders asked before the main menu (the loan conversation plugs in here). */
  inboundResponders: token<readonly InboundResponder[]>('InboundResponders'),
  statusListeners: token<readonly StatusListener[]>('StatusListeners'),
  handleInbound: token<HandleInbound>('HandleInbound'),
} as const;
