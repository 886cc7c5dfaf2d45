import { decryptFlowRequest, encryptFlowResponse, parseFlowRequest } from '@prestabot/adapters-meta';
import type {
  AnswerFlowExchange,
  Clock,
  FlowTokens,
  Logger,
  SignatureError,
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
 * WhatsApp Flows data exchange, with the status codes WhatsApp acts on: 432 for a request that is not signed
 * with a known app secret, 421 for anything we cannot decrypt (WhatsApp then refetches the public key and
 * retries once), 427 for a flow token that is not ours, expired, not this key's tenant, or whose submit was
 * already saved (WhatsApp then disables the Flow for the user). Plain, unencrypted requests are refused. Everything else is answered
 * 200 with the response encrypted under the request's key and the bit-flipped IV.
 */
export const createFlowsEndpoint =
  (deps: FlowsEndpointDependencies) =>
  async (request: Request): Promise<Response> => {
    const { keys, tokens, answer, secrets, verifier, clock, logger } = deps;
    const read = await readBodyUpTo(request, maxFlowRequestBytes);
    if ('tooLarge' in read) return json(413, { error: 'payload_too_large' });
    // Meta signs every Flows request with the app secret: anything else is refused before any key is read or
    // any RSA decryption is spent on it. The secrets come from the routing cache, not the database.
    const signature = request.headers.get('x-hub-signature-256') ?? undefined;
    const refuseSignature = (error: SignatureError) => {
      logger.warn({ error: error.type }, 'Flows request refused: it is not signed with a known app secret');
      return text(432, 'invalid signature');
    };
    const header = verifier.checkHeader(signature);
    if (header.isErr()) return refuseSignature(header.error);
    const known = await secrets.known();
    if (known.isErr()) return json(503, { error: 'storage_unavailable' });
    const verified = await verifier.verify(read.body, signature, known.value.secrets);
    if (verified.isErr()) return refuseSignature(verified.error);
    const body = ((): unknown => {
      try {
        return JSON.parse(new TextDecoder().decode(read.body));
      } catch {
        return undefined;
      }
    })();
    const number = new URL(request.url).searchParams.get('number') ?? undefined;
    const cached = await keys.candidates(number);
    if (cached.isErr()) return json(503, { error: 'storage_unavailable' });
    let candidates = cached.value;
    let decrypted = await decryptFlowRequest(
      body,
      candidates.map((candidate) => candidate.key),
    );
    if (
      decrypted.isErr() &&
      decrypted.error.type === 'undecryptable' &&
      decrypted.error.reason === 'no_key_unwraps'
    ) {
      // A miss on the cached keys gets one look at the stored ones, the key may be new: only keys not tried yet.
      const reloaded = await keys.candidates(number, { reload: true });
      if (reloaded.isErr()) return json(503, { error: 'storage_unavailable' });
      const tried = new Set(candidates.map((candidate) => candidate.key.fingerprint));
      const untried = reloaded.value.filter((candidate) => !tried.has(candidate.key.fingerprint));
      if (untried.length > 0) {
        candidates = untried;
        decrypted = await decryptFlowRequest(
          body,
          untried.map((candidate) => candidate.key),
        );
      }
    }
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
    const refused = (reason: string, message = catalogFor('es-CL').profile.flowExpired) => {
      logger.warn({ reason }, `Flows request refused with 427: ${reason}`);
      return respond(427, { error_msg: message });
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
      if (error.type === 'flow_already_submitted')
        return refused(error.type, catalogFor(error.locale).profile.alreadySubmitted);
      logger.error({ ...fields, error: error.type }, 'Flows request failed');
      return json(error.type === 'storage_error' && error.reason === 'unavailable' ? 503 : 500, {
        error: error.type,
      });
    }
    logger.info({ ...fields, screen: answered.value.screen }, 'Flows request answered');
    return respond(200, answered.value as JsonObject);
  };
