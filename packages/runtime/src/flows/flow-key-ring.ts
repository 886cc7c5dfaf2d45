import { type FlowPrivateKey, importFlowPrivateKey } from '@prestabot/adapters-meta';
import {
  type Clock,
  type FlowKeyDirectory,
  type Logger,
  type SecretCipher,
  type StorageError,
  secretPlaces,
} from '@prestabot/application';
import { defined, okAsync, type PhoneNumberId, ResultAsync, type TenantId } from '@prestabot/domain';

/** A private key the endpoint may decrypt with, and whose it is (the deployment's key belongs to no tenant). */
export type CandidateKey = {
  readonly key: FlowPrivateKey;
  readonly tenantId?: TenantId;
  readonly phoneNumberId?: PhoneNumberId;
  /** When its grace period began; absent on a key in use, or replaced while Meta still hands out its public half. */
  readonly graceFrom?: Date;
};

export type FlowKeyRingOptions = {
  /** `FLOWS_PRIVATE_KEY`, imported (and checked) at start-up: the deployment's default key. */
  readonly deploymentKey?: FlowPrivateKey;
  /** How long a replaced key still decrypts once its successor is registered, while WhatsApp clients learn it. */
  readonly graceMs: number;
  /** How long the list of stored keys is reused before it is read again. */
  readonly ttlMs: number;
};

export const defaultFlowKeyGraceMs = 24 * 60 * 60 * 1000;

/** A reload asked for by an undecryptable request happens at most this often, so garbage cannot flood the database. */
const minReloadIntervalMs = 1000;

/**
 * The keys the Flows endpoint tries: the keys of every number (or of one, when the Flow's endpoint URL
 * names it with `?number=`), then the deployment's. Keys are opened once and kept; a replaced key whose grace
 * period (from its successor's registration with Meta) has run out is left out, so requests encrypted to it
 * get 421 and WhatsApp refetches.
 */
export class FlowKeyRing {
  readonly #deps: {
    readonly directory: FlowKeyDirectory;
    readonly cipher: SecretCipher;
    readonly clock: Clock;
    readonly logger: Logger;
  };
  readonly #options: FlowKeyRingOptions;
  readonly #opened = new Map<string, FlowPrivateKey | undefined>();
  #stored: { readonly keys: readonly CandidateKey[]; readonly readAt: number } | undefined;

  constructor(
    dependencies: {
      readonly directory: FlowKeyDirectory;
      readonly cipher: SecretCipher;
      readonly clock: Clock;
      readonly logger: Logger;
    },
    options: FlowKeyRingOptions,
  ) {
    this.#deps = dependencies;
    this.#options = options;
  }

  /**
   * `reload` re-reads the stored keys (unless read within the last second): for a request none of the
   * cached keys could open, which may be encrypted to a key made since by another process.
   */
  candidates(
    number: string | undefined,
    options: { readonly reload?: boolean } = {},
  ): ResultAsync<readonly CandidateKey[], StorageError> {
    const now = this.#deps.clock.now().getTime();
    const usable = (candidate: CandidateKey) =>
      candidate.graceFrom === undefined || now - candidate.graceFrom.getTime() <= this.#options.graceMs;
    const inScope = (candidate: CandidateKey) =>
      number === undefined || candidate.phoneNumberId === undefined || candidate.phoneNumberId === number;
    const deployment = this.#options.deploymentKey;
    return this.#storedKeys(now, options.reload === true).map((stored) => [
      ...stored.filter((candidate) => usable(candidate) && inScope(candidate)),
      ...(deployment === undefined ? [] : [{ key: deployment }]),
    ]);
  }

  #storedKeys(now: number, reload: boolean): ResultAsync<readonly CandidateKey[], StorageError> {
    const cached = this.#stored;
    const age = cached === undefined ? Number.POSITIVE_INFINITY : now - cached.readAt;
    if (cached !== undefined && age < (reload ? minReloadIntervalMs : this.#options.ttlMs))
      return okAsync(cached.keys);
    return this.#deps.directory.listAll().andThen((stored) =>
      ResultAsync.fromSafePromise(
        Promise.all(
          stored.map(async (record): Promise<CandidateKey | undefined> => {
            const key = await this.#open(`${record.id}|${record.privateKey.ciphertext}`, () =>
              this.#deps.cipher.open(
                record.privateKey,
                secretPlaces.flowPrivateKey(record.tenantId, record.id),
              ),
            );
            return key === undefined
              ? undefined
              : {
                  key,
                  tenantId: record.tenantId,
                  ...defined({ phoneNumberId: record.phoneNumberId }),
                  ...defined({ graceFrom: record.graceFrom }),
                };
          }),
        ),
      ).map((opened) => {
        const keys = opened.filter((candidate): candidate is CandidateKey => candidate !== undefined);
        this.#stored = { keys, readAt: now };
        return keys;
      }),
    );
  }

  /** Opens and imports a sealed key once; a key that will not open is logged once and skipped. */
  async #open(
    cacheKey: string,
    unseal: () => ResultAsync<string, { readonly message: string }>,
  ): Promise<FlowPrivateKey | undefined> {
    if (this.#opened.has(cacheKey)) return this.#opened.get(cacheKey);
    const pem = await unseal();
    const key = pem.isErr() ? undefined : await importFlowPrivateKey(pem.value);
    const imported = key === undefined || key.isErr() ? undefined : key.value;
    if (imported === undefined)
      this.#deps.logger.error({}, 'a stored Flows private key cannot be opened or imported; it is skipped');
    this.#opened.set(cacheKey, imported);
    return imported;
  }
}
