import { portTokens } from '@prestabot/application';
import {
  FakeSecretCipher,
  InMemoryDatabase,
  ManualClock,
  RecordingLogger,
  RecordingMetrics,
} from '@prestabot/application/testing';
import { Container } from 'inversify';
import { describe, expect, it, vi } from 'vitest';
import { loadConfig } from './config.ts';
import { platformModule, resolve, runtimeTokens, timeOrderedIds, useCasesModule } from './wiring.ts';

describe('the ids a deployment makes', () => {
  it('are version-7 UUIDs stamped with the current millisecond', () => {
    const before = Date.now();
    const id = timeOrderedIds.uuid();
    const stamped = Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
    expect(id[14]).toBe('7');
    expect(stamped).toBeGreaterThanOrEqual(before);
    expect(stamped).toBeLessThanOrEqual(Date.now());
  });

  it('are unique', () => {
    const ids = Array.from({ length: 10_000 }, () => timeOrderedIds.uuid());
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('the app secrets the Flows endpoint checks signatures with', () => {
  it('come from the routing cache: a flood of forged requests does not read the database each time', async () => {
    const database = new InMemoryDatabase();
    const listApps = vi.spyOn(database.directory, 'listApps');
    const config = loadConfig({ META_APP_SECRET: 'deployment-secret' })._unsafeUnwrap();
    const container = new Container({ defaultScope: 'Singleton' });
    container.load(
      platformModule({
        config,
        logger: new RecordingLogger(),
        metrics: new RecordingMetrics(),
        clock: new ManualClock(),
      }),
      useCasesModule,
    );
    container.bind(portTokens.tenantDirectory).toConstantValue(database.directory);
    container.bind(portTokens.secretCipher).toConstantValue(new FakeSecretCipher());
    const secrets = resolve(container, runtimeTokens.webhookSecrets);

    for (let request = 0; request < 3; request += 1) {
      const known = (await secrets.known())._unsafeUnwrap();
      expect(known.secrets).toEqual([{ secret: 'deployment-secret' }]);
    }
    expect(listApps).toHaveBeenCalledTimes(1);
  });
});

describe('the ids one process makes', () => {
  it('sort in the order they were made, within one millisecond too (replies of one turn leave in order)', () => {
    const ids = Array.from({ length: 2_000 }, () => timeOrderedIds.uuid());
    expect([...ids].sort()).toEqual(ids);
  });
});
