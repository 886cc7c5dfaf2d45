import { portTokens } from '@prestabot/application';
import { ContainerModule } from 'inversify';
import { UndiciGraphGateway } from './graph/gateway.ts';
import type { GraphClient } from './graph/graph-client.ts';
import { ZodWebhookParser } from './webhook/parser.ts';
import { type HmacSha256, HmacSignatureVerifier } from './webhook/signature.ts';

/**
 * Binds Meta's side for a composition root: the webhook boundary, and the Graph gateway over the given
 * client (the host creates the client, and closes it at shutdown), and the host's HMAC if it has a faster
 * one than WebCrypto's.
 */
export const metaAdaptersModule = (
  graph: GraphClient,
  options: { readonly hmac?: HmacSha256 } = {},
): ContainerModule =>
  new ContainerModule(({ bind }) => {
    bind(portTokens.webhookVerifier).toConstantValue(new HmacSignatureVerifier(options));
    bind(portTokens.webhookParser).toConstantValue(new ZodWebhookParser());
    bind(portTokens.messagingGateway).toConstantValue(new UndiciGraphGateway(graph));
  });
