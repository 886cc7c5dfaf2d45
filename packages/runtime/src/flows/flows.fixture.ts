import {
  decryptFlowResponse,
  encryptFlowRequest,
  type FlowPrivateKey,
  generateFlowKey,
  HmacSignatureVerifier,
  importFlowPublicKey,
  SignedFlowTokens,
  signWebhookBody,
  ZodWebhookParser,
} from '@prestabot/adapters-meta';
import { createInMemoryApp, expectOk } from '@prestabot/application/testing';
import {
  type ContactId,
  defined,
  type E164,
  type JsonObject,
  okAsync,
  type PhoneNumberId,
  type TenantId,
} from '@prestabot/domain';
import { FlowKeyAdmin } from './flow-key-admin.ts';
import { defaultFlowKeyGraceMs, FlowKeyRing } from './flow-key-ring.ts';
import { createFlowsEndpoint } from './flows-endpoint.ts';

export const appSecret = 'flows-app-secret';
export const numberA = '1065403522429' as PhoneNumberId;
export const numberB = '2075403522430' as PhoneNumberId;
const ana = '+56911111111' as E164;
export const keyCacheMs = 60_000;

/** Meta's copy of each number's public key, as `whatsapp_business_encryption` keeps it. */
class RegisteredKeys {
  readonly byNumber = new Map<string, string>();

  register(phoneNumberId: string, _accessToken: string, publicKeyPem: string) {
    this.byNumber.set(phoneNumberId, publicKeyPem);
    return okAsync(undefined);
  }

  current(phoneNumberId: string) {
    const publicKey = this.byNumber.get(phoneNumberId);
    return okAsync(publicKey === undefined ? undefined : { publicKey, signatureStatus: 'VALID' });
  }
}

export type FlowsEndpointFixture = Awaited<ReturnType<typeof flowsEndpointFixture>>;

/**
 * The Flows endpoint in-process on in-memory storage: two tenants, one number each, one contact each, and
 * a way to post what WhatsApp would (encrypted to any public key, signed with any secret or not at all).
 */
export const flowsEndpointFixture = async (options: { readonly deploymentKey?: FlowPrivateKey } = {}) => {
  const app = createInMemoryApp({
    verifier: new HmacSignatureVerifier(),
    parser: new ZodWebhookParser(),
    deploymentAppSecret: appSecret,
    routingCacheTtlMs: keyCacheMs,
  });
  const tenantA = await app.addTenant(numberA, 'token-a');
  const tenantB = await app.addTenant(numberB, 'token-b');
  const contactIn = async (tenantId: TenantId) =>
    (
      await expectOk(
        app.database.unitOfWork.run(tenantId, (r) =>
          r.contacts.upsert({ phone: ana, name: 'Ana' }, app.ids.uuid() as ContactId),
        ),
      )
    ).contact.id;
  const contacts = { [tenantA]: await contactIn(tenantA), [tenantB]: await contactIn(tenantB) };
  const tokens = new SignedFlowTokens('flow-token-secret-for-tests');
  const registered = new RegisteredKeys();
  const admin = new FlowKeyAdmin({
    directory: app.database.directory,
    unitOfWork: app.database.unitOfWork,
    cipher: app.cipher,
    encryption: registered,
    accessTokens: app.accessTokens,
    clock: app.clock,
    ids: app.ids,
    deploymentKey: options.deploymentKey,
  });
  const endpoint = createFlowsEndpoint({
    keys: new FlowKeyRing(
      { directory: app.database.flowKeyDirectory, cipher: app.cipher, clock: app.clock, logger: app.logger },
      {
        graceMs: defaultFlowKeyGraceMs,
        ttlMs: keyCacheMs,
        ...defined({ deploymentKey: options.deploymentKey }),
      },
    ),
    tokens,
    answer: app.answerFlowExchange,
    secrets: app.webhookSecrets,
    verifier: new HmacSignatureVerifier(),
    clock: app.clock,
    logger: app.logger,
  });

  const tokenFor = (tenantId: TenantId, phoneNumberId: PhoneNumberId, expiresInMs = 3_600_000) =>
    expectOk(
      tokens.issue({
        tenantId,
        phoneNumberId,
        contactId: contacts[tenantId]!,
        flow: 'profile',
        flowId: '555000111',
        expiresAt: new Date(app.clock.now().getTime() + expiresInMs),
      }),
    );

  /**
   * POSTs a raw body to `/flows` (or `/flows?number=…`), signed with the app secret as WhatsApp signs it,
   * with another secret, or (`signWith: false`) not at all.
   */
  const postRaw = async (
    body: string,
    options: { readonly signWith?: string | false; readonly query?: string } = {},
  ) => {
    const signWith = options.signWith ?? appSecret;
    return endpoint(
      new Request(`https://bot.example/flows${options.query ?? ''}`, {
        method: 'POST',
        body,
        headers: {
          'content-type': 'application/json',
          ...(signWith === false
            ? {}
            : { 'x-hub-signature-256': await signWebhookBody(new TextEncoder().encode(body), signWith) }),
        },
      }),
    );
  };

  /** Encrypts `payload` to `publicKeyPem` like WhatsApp, posts it, and reads the answer with the request's key. */
  const post = async (
    publicKeyPem: string,
    payload: JsonObject,
    options: { readonly signWith?: string | false; readonly query?: string } = {},
  ) => {
    const publicKey = await expectOk(importFlowPublicKey(publicKeyPem));
    const sealed = await encryptFlowRequest(payload, publicKey);
    const response = await postRaw(JSON.stringify(sealed.body), options);
    const text = await response.text();
    const decrypted = await decryptFlowResponse(text, sealed.aesKey, sealed.iv);
    return { status: response.status, text, answer: decrypted.unwrapOr(undefined), sealed };
  };

  return {
    app,
    tenantA,
    tenantB,
    contacts,
    tokens,
    registered,
    admin,
    endpoint,
    tokenFor,
    postRaw,
    post,
    /** A new key for the number, stored as `flows keygen` stores it; its public half comes back. */
    newKey: async (phoneNumberId: PhoneNumberId) =>
      (await expectOk(admin.generate(phoneNumberId))).publicKeyPem,
  };
};

export const deploymentFlowKey = async () => (await generateFlowKey()).key;
