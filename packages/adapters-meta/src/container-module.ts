import { portTokens } from '@prestabot/application';
import { ContainerModule } from 'inversify';
import { UndiciGraphGateway } from './graph/gateway.ts';
import type { GraphClient } from './graph/graph-client.ts';
import { ZodWebhookParser } from './webhook/parser.ts';
import { WebCryptoSignatureVerifier } from './webhook/signature.ts';

/**
 * Binds Meta's side for a composition root: the webhook boundary, and the Graph gateway over the given
 * client (the host creates the client, and closes it at shutdown).
 */
export const metaAdaptersModule = (graph: GraphClient): ContainerModule =>
  new ContainerModule(({ bind }) => {
    bind(portTokens.webhookVerifier).toConstantValue(new WebCryptoSignatureVerifier());
    bind(portTokens.webhookParser).toConstantValue(new ZodWebhookParser());
    bind(portTokens.messagingGateway).toConstantValue(new UndiciGraphGateway(graph));
  });
