import { decryptFlowRequest, encryptFlowResponse, parseFlowRequest } from '@prestabot/adapters-meta';
import type {
  AnswerFlowExchange,
  Clock,
  FlowTokens,
  Logger,
  WebhookSecrets,
  WebhookSignatureVerifier,
} from '@prestabot/application';
import { catalogFor } from '@prestabot/application';
import type { JsonObject } from '@prestabot/domain';
import { readBodyUpTo } from '../http/read-body.ts';
import { json, text } from '../http/responses.ts';
import type { FlowKeyRing } from './flow-key-ring.ts';

/** Flows requests are small; this bounds what is read before anything is known about the sender. */
const maxFlowRequestBytes = 1024 * 1024;

export type FlowsEndpointDependencies = {
  readonly keys: FlowKeyRing;
  readonly tokens: FlowTokens;
  readonly answer: AnswerFlowExchange;
  readonly secrets: WebhookSecrets;
  readonly verifier: WebhookSignatureVerifier;
  readonly clock: Clock;
  readonly logger: Logger;
};

/**
 * WhatsApp Flows data exchange, with the status codes WhatsApp acts on: 432 for a request signed with a
 * secret we do not know, 421 for anything we cannot decrypt (WhatsApp then refetches the public key and
 * retries once), 427 for a flow token that is not ours, expired, or not this key's tenant (WhatsApp then
 * disables the Flow for the user). Plain, unencrypted requests are refused. Everything else is answered
 * 200 with the response encrypted under the request's key and the bit-flipped IV.
 */
export const createFlowsEndpoint =
  (deps: FlowsEndpointDependencies) =>
  async (request: Request): Promise<Response> => {
    const { keys, tokens, answer, secrets, verifier, clock, logger } = deps;
    const read = await readBodyUpTo(request, maxFlowRequestBytes);
    if ('tooLarge' in read) return json(413, { error: 'payload_too_large' });
    const signature = request.headers.get('x-hub-signature-256');
    if (signature !== null) {
      const known = await secrets.known();
      if (known.isErr()) return json(503, { error: 'storage_unavailable' });
      const verified = await verifier.verify(read.body, signature, known.value.secrets);
      if (verified.isErr()) {
        logger.warn(
          { error: verified.error.type },
          'Flows request refused: its signature matches no app secret',
        );
        return text(432, 'invalid signature');
      }
    }
    const body = ((): unknown => {
      try {
        return JSON.parse(new TextDecoder().decode(read.body));
      } catch {
        return undefined;
      }
    })();
    const number = new URL(request.url).searchParams.get('number') ?? undefined;
    const attempt = async (reload: boolean) => {
      const candidates = await keys.candidates(number, { reload });
      if (candidates.isErr()) return undefined;
      const decrypted = await decryptFlowRequest(
        body,
        candidates.value.map((candidate) => candidate.key),
      );
      return { candidates: candidates.value, decrypted };
    };
    // A miss on the cached keys gets one look at the stored ones: the key may be new.
    const first = await attempt(false);
    const opened = first === undefined || first.decrypted.isOk() ? first : await attempt(true);
    if (opened === undefined) return json(503, { error: 'storage_unavailable' });
    const { candidates, decrypted } = opened;
    if (decrypted.isErr()) {
      logger.warn(
        { error: decrypted.error.type },
        'Flows request not decryptable with any current key; answering 421 so WhatsApp refetches the key',
      );
      return text(421, 'cannot decrypt');
    }
    const { payload, aesKey, iv, keyFingerprint } = decrypted.value;
    const owner = candidates.find((candidate) => candidate.key.fingerprint === keyFingerprint);
    const respond = async (status: number, response: JsonObject) =>
      text(status, await encryptFlowResponse(response, aesKey, iv));
    const parsed = parseFlowRequest(payload);
    if (parsed.isErr()) {
      logger.warn({ error: parsed.error.type }, 'Flows request with an action we do not know');
      return json(400, { error: parsed.error.type });
    }
    const flowRequest = parsed.value;
    if (flowRequest.type === 'ping') return respond(200, { data: { status: 'active' } });
    const now = clock.now();
    const claims = await tokens.verify(flowRequest.flowToken, now);
    const refused = (reason: string, locale: Parameters<typeof catalogFor>[0] = 'es-CL') => {
      logger.warn({ reason }, `Flows request refused with 427: ${reason}`);
      return respond(427, { error_msg: catalogFor(locale).profile.flowExpired });
    };
    if (claims.isErr()) return refused(claims.error.type);
    const fields = {
      tenantId: claims.value.tenantId,
      phoneNumberId: claims.value.phoneNumberId,
      contactId: claims.value.contactId,
      flow: claims.value.flow,
    };
    // A key that belongs to a tenant (or a number) only opens that tenant's Flows.
    if (owner?.tenantId !== undefined && owner.tenantId !== claims.value.tenantId)
      return refused('flow token of another tenant than the key');
    if (owner?.phoneNumberId !== undefined && owner.phoneNumberId !== claims.value.phoneNumberId)
      return refused('flow token of another number than the key');
    if (flowRequest.type === 'error_notification') {
      logger.warn(
        { ...fields, error: flowRequest.error, message: flowRequest.errorMessage },
        'WhatsApp reported a Flow error',
      );
      return respond(200, { data: { acknowledged: true } });
    }
    const answered = await answer.execute({
      action: flowRequest.type === 'init' ? 'INIT' : flowRequest.type === 'back' ? 'BACK' : 'data_exchange',
      ...(flowRequest.type === 'init' || flowRequest.screen === undefined
        ? {}
        : { screen: flowRequest.screen }),
      ...(flowRequest.type === 'data_exchange' ? { data: flowRequest.data } : {}),
      flowToken: flowRequest.flowToken,
      claims: claims.value,
      now,
    });
    if (answered.isErr()) {
      const error = answered.error;
      if (error.type === 'unknown_flow' || error.type === 'flow_subject_gone') return refused(error.type);
      logger.error({ ...fields, error: error.type }, 'Flows request failed');
      return json(error.type === 'storage_error' && error.reason === 'unavailable' ? 503 : 500, {
        error: error.type,
      });
    }
    logger.info({ ...fields, screen: answered.value.screen }, 'Flows request answered');
    return respond(200, answered.value as JsonObject);
  };
