import { describe, expect, it, vi } from 'vitest';
import {
  createInMemoryApp,
  encodeBatch,
  inboundText,
  JsonBatchParser,
  TestSignatureVerifier,
  testSignature,
} from './testing/index.ts';

describe('composeUseCases', () => {
  it('makes one routing cache: ingestion and the Flows endpoint open app secrets once between them', async () => {
    const app = createInMemoryApp({
      verifier: new TestSignatureVerifier(),
      parser: new JsonBatchParser(),
      deploymentAppSecret: 'deployment-secret',
      routingCacheTtlMs: 5000,
    });
    await app.addTenant('1001', 'token-a');
    const listApps = vi.spyOn(app.database.directory, 'listApps');
    for (let request = 0; request < 3; request += 1) {
      const known = (await app.webhookSecrets.known())._unsafeUnwrap();
      expect(known.secrets).toEqual([{ secret: 'deployment-secret' }]);
    }
    const ingested = await app.ingestWebhook.execute({
      rawBody: encodeBatch([inboundText('1001', '56911111111', 'hola')]),
      signature: testSignature('deployment-secret'),
    });
    expect(ingested._unsafeUnwrap()).toMatchObject({ stored: 1 });
    expect(listApps).toHaveBeenCalledTimes(1);
  });
});
