import { type AppId, okAsync } from '@prestabot/domain';
import { describe, expect, it } from 'vitest';
import { secretPlaces } from '../ports/secret-cipher.port.ts';
import type { RegisteredApp, TenantDirectory } from '../ports/tenant-directory.port.ts';
import { expectOk, FakeSecretCipher, RecordingLogger } from '../testing/index.ts';
import { WebhookSecrets } from './webhook-secrets.ts';

const appId = (id: string) => id as AppId;

/** A directory whose `listApps` answers whatever `apps` holds at the time, as the same array until changed. */
const directoryOf = (holder: { apps: readonly RegisteredApp[] }) =>
  ({ listApps: () => okAsync(holder.apps) }) as unknown as TenantDirectory;

const setup = async () => {
  const cipher = new FakeSecretCipher();
  const sealed = await expectOk(cipher.seal('app-secret', secretPlaces.appSecret(appId('app-1'))));
  // Sealed under a key this deployment no longer has: it cannot be opened.
  const lost = await expectOk(
    new FakeSecretCipher('retired-key').seal('lost', secretPlaces.appSecret(appId('app-2'))),
  );
  const holder = {
    apps: [
      { id: appId('app-1'), secret: sealed },
      { id: appId('app-2'), secret: lost },
    ] as readonly RegisteredApp[],
  };
  const logger = new RecordingLogger();
  const secrets = new WebhookSecrets({
    directory: directoryOf(holder),
    cipher,
    logger,
    deploymentAppSecret: 'deployment-secret',
  });
  const unopened = () => logger.lines.filter((line) => line.message.includes('cannot be opened')).length;
  return { holder, secrets, cipher, unopened };
};

describe('WebhookSecrets', () => {
  it('gives every app secret it can open, then the deployment secret', async () => {
    const { secrets } = await setup();

    const known = await expectOk(secrets.known());

    expect(known.secrets).toEqual([
      { appId: 'app-1', secret: 'app-secret' },
      { secret: 'deployment-secret' },
    ]);
  });

  it('opens the apps once while the directory answers the same ones (its cache does), again when they change', async () => {
    const { holder, secrets, unopened } = await setup();

    const first = await expectOk(secrets.known());
    const again = await expectOk(secrets.known());
    await expectOk(secrets.known());

    expect(again).toBe(first);
    expect(unopened()).toBe(1);

    holder.apps = [...holder.apps];
    const refreshed = await expectOk(secrets.known());

    expect(refreshed).not.toBe(first);
    expect(refreshed.secrets).toEqual(first.secrets);
    expect(unopened()).toBe(2);
  });

  it('gives a rotated secret as soon as the directory answers the rotated app', async () => {
    const { holder, secrets, cipher } = await setup();
    await expectOk(secrets.known());

    const rotated = await expectOk(cipher.seal('rotated-secret', secretPlaces.appSecret(appId('app-1'))));
    holder.apps = holder.apps.map((app) => (app.id === 'app-1' ? { ...app, secret: rotated } : app));

    expect((await expectOk(secrets.known())).secrets).toEqual([
      { appId: 'app-1', secret: 'rotated-secret' },
      { secret: 'deployment-secret' },
    ]);
  });
});
