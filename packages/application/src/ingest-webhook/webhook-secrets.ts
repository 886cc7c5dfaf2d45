import { type AppId, okAsync, ResultAsync } from '@prestabot/domain';
import type { StorageError } from '../errors.ts';
import type { Logger } from '../ports/logger.port.ts';
import { type SecretCipher, secretPlaces } from '../ports/secret-cipher.port.ts';
import type { NumberRoute, RegisteredApp, TenantDirectory } from '../ports/tenant-directory.port.ts';
import type { WebhookSecret } from '../ports/webhook.port.ts';

export type KnownSecrets = {
  /** Every secret that may have signed a request: each registered app's, then `META_APP_SECRET`. */
  readonly secrets: readonly WebhookSecret[];
  /** The secret a number's requests must carry: its app's, or the deployment's. */
  readonly expectedFor: (route: NumberRoute) => string | undefined;
};

/**
 * The app secrets that sign Meta's requests (webhooks, Flows data exchange), opened from storage. Opening is
 * cheap but not free on every request, so opened secrets are kept by app and ciphertext; a secret that cannot be
 * opened is logged and left out, rather than failing every request.
 */
export class WebhookSecrets {
  readonly #deps: {
    readonly directory: TenantDirectory;
    readonly cipher: SecretCipher;
    readonly logger: Logger;
    readonly deploymentAppSecret?: string | undefined;
  };
  readonly #opened = new Map<string, string>();
  /**
   * The last answer, kept while the directory hands back the same apps (its cache does for seconds): a
   * webhook then costs no rebuilding, and a secret that cannot be opened is logged once per refresh, not
   * once per webhook.
   */
  #last: { readonly apps: readonly RegisteredApp[]; readonly known: KnownSecrets } | undefined;

  constructor(dependencies: {
    readonly directory: TenantDirectory;
    readonly cipher: SecretCipher;
    readonly logger: Logger;
    readonly deploymentAppSecret?: string | undefined;
  }) {
    this.#deps = dependencies;
  }

  known(): ResultAsync<KnownSecrets, StorageError> {
    return this.#deps.directory.listApps().andThen((apps) => {
      const last = this.#last;
      if (last !== undefined && last.apps === apps) return okAsync(last.known);
      return this.#open(apps).map((known) => {
        this.#last = { apps, known };
        return known;
      });
    });
  }

  #open(apps: readonly RegisteredApp[]): ResultAsync<KnownSecrets, never> {
    const { cipher, logger, deploymentAppSecret } = this.#deps;
    return ResultAsync.combine(
      apps.map((app) => {
        const cacheKey = `${app.id}|${app.secret.ciphertext}`;
        const known = this.#opened.get(cacheKey);
        if (known !== undefined)
          return okAsync<WebhookSecret | undefined, never>({ appId: app.id, secret: known });
        return cipher
          .open(app.secret, secretPlaces.appSecret(app.id))
          .map((secret): WebhookSecret | undefined => {
            this.#opened.set(cacheKey, secret);
            return { appId: app.id, secret };
          })
          .orElse((error) => {
            logger.error(
              { appId: app.id, error: error.type },
              `the secret of app ${app.id} cannot be opened: ${error.message}`,
            );
            return okAsync<WebhookSecret | undefined, never>(undefined);
          });
      }),
    ).map((opened) => {
      const appSecrets = opened.filter((secret): secret is WebhookSecret => secret !== undefined);
      const byApp = new Map<AppId | undefined, string>(
        appSecrets.map((secret) => [secret.appId, secret.secret]),
      );
      const hasDeploymentSecret = deploymentAppSecret !== undefined && deploymentAppSecret !== '';
      return {
        secrets: hasDeploymentSecret ? [...appSecrets, { secret: deploymentAppSecret }] : appSecrets,
        expectedFor: (route: NumberRoute) =>
          route.number.appId === undefined ? deploymentAppSecret : byApp.get(route.number.appId),
      };
    });
  }
}
