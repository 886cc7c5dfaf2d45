import {
  type FlowPrivateKey,
  type GraphBusinessEncryption,
  generateFlowKey,
  importFlowPrivateKey,
} from '@prestabot/adapters-meta';
import {
  type AccessTokenError,
  type Clock,
  describeSendFailure,
  type IdGenerator,
  type NumberAccessTokens,
  type SecretCipher,
  type SecretCipherError,
  type SendFailure,
  type StorageError,
  type StoredFlowKey,
  secretPlaces,
  type TenantDirectory,
  type TenantUnitOfWork,
} from '@prestabot/application';
import {
  defined,
  err,
  errAsync,
  ok,
  okAsync,
  type PhoneNumberId,
  parsePhoneNumberId,
  type ResultAsync,
  safeTry,
  type TenantId,
} from '@prestabot/domain';

export type FlowKeyAdminError =
  | {
      readonly type: 'invalid_input';
      readonly field: string;
      readonly value: string;
      readonly expected: string;
    }
  | { readonly type: 'number_not_found'; readonly phoneNumberId: string }
  | { readonly type: 'no_flow_key'; readonly phoneNumberId: string }
  | { readonly type: 'graph_refused'; readonly failure: SendFailure }
  | AccessTokenError
  | SecretCipherError
  | StorageError;

export type FlowKeyStatus = {
  readonly phoneNumberId: PhoneNumberId;
  readonly tenantId: TenantId;
  /** Ours, newest first: the one in use and those retired (still accepted during their grace period). */
  readonly keys: readonly {
    readonly fingerprint: string;
    readonly scope: 'number' | 'tenant' | 'deployment';
    readonly retiredAt?: Date;
    /** When its grace period began; absent on a retired key while its successor is not registered. */
    readonly graceFrom?: Date;
  }[];
  /** What Meta holds for the number, and whether it is the public half of our current key. */
  readonly registered?: { readonly matchesCurrent: boolean; readonly signatureStatus: string };
  /** Why Meta could not be asked (no token, token rejected, Graph down). */
  readonly registeredUnknown?: string;
};

/** PEMs differ in line breaks; the key inside is what counts. */
const sameKey = (a: string, b: string) => a.replace(/\s/g, '') === b.replace(/\s/g, '');

export type FlowKeyAdminDependencies = {
  readonly directory: TenantDirectory;
  readonly unitOfWork: TenantUnitOfWork;
  readonly cipher: SecretCipher;
  /** Meta's copy of each number's public key (the Graph API's `whatsapp_business_encryption`). */
  readonly encryption: Pick<GraphBusinessEncryption, 'register' | 'current'>;
  readonly accessTokens: NumberAccessTokens;
  readonly clock: Clock;
  readonly ids: IdGenerator;
  /** `FLOWS_PRIVATE_KEY`: used for numbers without a key of their own. */
  readonly deploymentKey?: FlowPrivateKey | undefined;
};

/**
 * The operator's Flows keys: generate one for a number (sealed and stored, the previous one retired),
 * upload its public half to Meta with the number's own token, and report what is in use and what Meta holds.
 */
export class FlowKeyAdmin {
  readonly #deps: FlowKeyAdminDependencies;

  constructor(dependencies: FlowKeyAdminDependencies) {
    this.#deps = dependencies;
  }

  /** A new key for the number; the public half to upload (`register`) comes back. */
  generate(
    phoneNumberIdInput: string,
  ): ResultAsync<{ readonly fingerprint: string; readonly publicKeyPem: string }, FlowKeyAdminError> {
    const deps = this.#deps;
    const self = this;
    return safeTry(async function* () {
      const { tenantId, phoneNumberId } = yield* self.#route(phoneNumberIdInput);
      const generated = await generateFlowKey();
      const id = deps.ids.uuid();
      const privateKey = yield* deps.cipher.seal(
        generated.privateKeyPem,
        secretPlaces.flowPrivateKey(tenantId, id),
      );
      const now = deps.clock.now();
      yield* deps.unitOfWork.run(tenantId, (repositories) =>
        repositories.flowKeys.add(
          {
            id,
            phoneNumberId,
            fingerprint: generated.key.fingerprint,
            privateKey,
            createdAt: now,
          },
          now,
        ),
      );
      return ok({ fingerprint: generated.key.fingerprint, publicKeyPem: generated.key.publicKeyPem });
    });
  }

  /** Uploads the public half of the key in use for the number, with the number's own token. */
  register(phoneNumberIdInput: string): ResultAsync<{ readonly fingerprint: string }, FlowKeyAdminError> {
    const deps = this.#deps;
    const self = this;
    return safeTry(async function* () {
      const route = yield* self.#route(phoneNumberIdInput);
      const current = yield* self.#currentKey(route.tenantId, route.phoneNumberId);
      if (current === undefined)
        return err({ type: 'no_flow_key' as const, phoneNumberId: route.phoneNumberId });
      const token = yield* deps.accessTokens.of(route.tenantId, route.phoneNumberId);
      yield* deps.encryption
        .register(route.phoneNumberId, token, current.key.publicKeyPem)
        .mapErr((failure) => ({ type: 'graph_refused' as const, failure }));
      // From now on WhatsApp clients learn the new public key: the keys it replaced count down from here.
      const { scope } = current;
      if (scope !== 'deployment')
        yield* deps.unitOfWork.run(route.tenantId, (repositories) =>
          repositories.flowKeys.startGrace(scope, deps.clock.now()),
        );
      return ok({ fingerprint: current.key.fingerprint });
    });
  }

  status(phoneNumberIdInput: string): ResultAsync<FlowKeyStatus, FlowKeyAdminError> {
    const deps = this.#deps;
    const self = this;
    return safeTry(async function* () {
      const { tenantId, phoneNumberId } = yield* self.#route(phoneNumberIdInput);
      const stored = (yield* deps.unitOfWork.run(tenantId, (repositories) =>
        repositories.flowKeys.list(),
      )).filter((key) => key.phoneNumberId === undefined || key.phoneNumberId === phoneNumberId);
      const keys = [
        ...stored.map((key) => ({
          fingerprint: key.fingerprint,
          scope: key.phoneNumberId === undefined ? ('tenant' as const) : ('number' as const),
          ...defined({ retiredAt: key.retiredAt }),
          ...defined({ graceFrom: key.graceFrom }),
        })),
        ...(deps.deploymentKey === undefined
          ? []
          : [{ fingerprint: deps.deploymentKey.fingerprint, scope: 'deployment' as const }]),
      ];
      const current = yield* self.#currentKey(tenantId, phoneNumberId);
      const token = await deps.accessTokens.of(tenantId, phoneNumberId);
      if (token.isErr()) return ok({ phoneNumberId, tenantId, keys, registeredUnknown: token.error.type });
      const registered = await deps.encryption.current(phoneNumberId, token.value);
      if (registered.isErr())
        return ok({
          phoneNumberId,
          tenantId,
          keys,
          registeredUnknown: describeSendFailure(registered.error),
        });
      return ok({
        phoneNumberId,
        tenantId,
        keys,
        ...(registered.value === undefined
          ? {}
          : {
              registered: {
                matchesCurrent:
                  current !== undefined && sameKey(registered.value.publicKey, current.key.publicKeyPem),
                signatureStatus: registered.value.signatureStatus,
              },
            }),
      });
    });
  }

  #route(
    phoneNumberIdInput: string,
  ): ResultAsync<{ readonly tenantId: TenantId; readonly phoneNumberId: PhoneNumberId }, FlowKeyAdminError> {
    const phoneNumberId = parsePhoneNumberId(phoneNumberIdInput);
    if (phoneNumberId.isErr()) {
      return errAsync({
        type: 'invalid_input',
        field: '--phone-number-id',
        value: phoneNumberIdInput,
        expected: 'the phone number id (digits)',
      });
    }
    return this.#deps.directory
      .findNumber(phoneNumberId.value)
      .andThen((route) =>
        route === undefined
          ? err({ type: 'number_not_found' as const, phoneNumberId: phoneNumberIdInput })
          : ok({ tenantId: route.tenant.id, phoneNumberId: phoneNumberId.value }),
      );
  }

  /**
   * The key a number's Flows are encrypted to: its own, else its tenant's, else the deployment's; with its
   * scope (the number, `undefined` for the tenant's, or the deployment).
   */
  #currentKey(
    tenantId: TenantId,
    phoneNumberId: PhoneNumberId,
  ): ResultAsync<
    { readonly key: FlowPrivateKey; readonly scope: PhoneNumberId | undefined | 'deployment' } | undefined,
    FlowKeyAdminError
  > {
    const deps = this.#deps;
    return deps.unitOfWork
      .run(tenantId, (repositories) => repositories.flowKeys.list())
      .andThen((keys) => {
        const current = (scope: (key: StoredFlowKey) => boolean) =>
          keys.find((key) => key.retiredAt === undefined && scope(key));
        const chosen =
          current((key) => key.phoneNumberId === phoneNumberId) ??
          current((key) => key.phoneNumberId === undefined);
        if (chosen === undefined)
          return okAsync(
            deps.deploymentKey === undefined
              ? undefined
              : { key: deps.deploymentKey, scope: 'deployment' as const },
          );
        return deps.cipher
          .open(chosen.privateKey, secretPlaces.flowPrivateKey(tenantId, chosen.id))
          .andThen((pem) =>
            importFlowPrivateKey(pem).mapErr(
              (): FlowKeyAdminError => ({
                type: 'secret_unreadable',
                keyId: chosen.privateKey.keyId,
                message: 'the stored Flows key is not a usable RSA key',
              }),
            ),
          )
          .map((key) => ({ key, scope: chosen.phoneNumberId }));
      });
  }
}
