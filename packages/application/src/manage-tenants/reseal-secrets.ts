import { ok, okAsync, type ResultAsync, safeTry } from '@prestabot/domain';
import type { StorageError } from '../errors.ts';
import type { StoredSecret } from '../ports/sealed-secret-store.port.ts';
import {
  type SealedSecret,
  type SecretCipher,
  type SecretCipherError,
  type SecretPlace,
  secretPlaces,
} from '../ports/secret-cipher.port.ts';
import type { AppRegistry, TenantDirectory } from '../ports/tenant-directory.port.ts';
import type { TenantUnitOfWork } from '../ports/unit-of-work.port.ts';

export type ResealSecretsDependencies = {
  readonly directory: TenantDirectory;
  readonly apps: AppRegistry;
  readonly unitOfWork: TenantUnitOfWork;
  readonly cipher: SecretCipher;
};

/** A secret no configured key opens: where it is and which key sealed it, never its value. */
export type UnreadableSecret = {
  readonly place: SecretPlace;
  readonly keyId: string;
  readonly message: string;
};

export type ResealReport = {
  /** Sealed again under the current key, bound to their place. */
  readonly resealed: number;
  /** Already sealed by the current key for their place. */
  readonly current: number;
  /** Left as they are: the key that sealed them is not configured. */
  readonly unreadable: readonly UnreadableSecret[];
};

type Outcome = 'resealed' | 'current' | UnreadableSecret;

/**
 * `prestabot secrets reseal`: seals every stored secret (tokens, app secrets, Flows keys, bank details)
 * again under the current key and bound to its place, so older keys can leave
 * `PRESTABOT_PREVIOUS_ENCRYPTION_KEYS`. A secret that changed meanwhile was sealed anew by whoever
 * changed it, and is left alone. Idempotent.
 */
export class ResealSecrets {
  readonly #deps: ResealSecretsDependencies;

  constructor(dependencies: ResealSecretsDependencies) {
    this.#deps = dependencies;
  }

  execute(): ResultAsync<ResealReport, StorageError | SecretCipherError> {
    const deps = this.#deps;
    const self = this;
    return safeTry(async function* () {
      const outcomes: Outcome[] = [];
      for (const { tenant } of yield* deps.directory.listTenants()) {
        const secrets = yield* deps.unitOfWork.run(tenant.id, (r) => r.secrets.list());
        for (const secret of secrets)
          outcomes.push(
            yield* self.#reseal(secret, (resealed) =>
              deps.unitOfWork.run(tenant.id, (r) => r.secrets.replace(secret.place, secret.sealed, resealed)),
            ),
          );
      }
      for (const app of yield* deps.directory.listApps())
        outcomes.push(
          yield* self.#reseal({ place: secretPlaces.appSecret(app.id), sealed: app.secret }, (secret) =>
            deps.apps.register({ ...app, secret }).map(() => true),
          ),
        );
      return ok({
        resealed: outcomes.filter((outcome) => outcome === 'resealed').length,
        current: outcomes.filter((outcome) => outcome === 'current').length,
        unreadable: outcomes.filter((outcome): outcome is UnreadableSecret => typeof outcome === 'object'),
      });
    });
  }

  #reseal(
    { place, sealed }: StoredSecret,
    store: (resealed: SealedSecret) => ResultAsync<boolean, StorageError>,
  ): ResultAsync<Outcome, StorageError | SecretCipherError> {
    const { cipher } = this.#deps;
    if (!cipher.isStale(sealed)) return okAsync('current');
    return cipher
      .open(sealed, place)
      .map((plaintext): { readonly plaintext: string } | UnreadableSecret => ({ plaintext }))
      .orElse((error) => okAsync({ place, keyId: sealed.keyId, message: error.message }))
      .andThen(
        (opened): ResultAsync<Outcome, StorageError | SecretCipherError> =>
          'plaintext' in opened
            ? cipher
                .seal(opened.plaintext, place)
                .andThen(store)
                // Not stored: it changed meanwhile, sealed anew by whoever changed it.
                .map((stored): Outcome => (stored ? 'resealed' : 'current'))
            : okAsync(opened),
      );
  }
}
