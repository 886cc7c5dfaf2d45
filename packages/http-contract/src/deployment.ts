import type { PostgresStorage } from '@prestabot/adapters-postgres';
import { createTestDatabase } from '@prestabot/adapters-postgres/testing';
import { expectOk, RecordingLogger, RecordingMetrics } from '@prestabot/application/testing';
import { type FakeGraph, freeLoopbackPort, startFakeGraph } from '@prestabot/fake-graph';
import { type FlowKeyAdmin, loadConfig, openBot } from '@prestabot/runtime';
import pg from 'pg';

export type TestTenant = {
  readonly tenantId: string;
  readonly phoneNumberId: string;
  readonly accessToken: string;
  /** The "My profile" Flow id its users get: its own setting, or the deployment's default. */
  readonly profileFlowId: string;
};

/** A deployment's surroundings: a fresh database with two tenants, the fake Graph API, and the environment. */
export type TestDeployment = {
  readonly env: Readonly<Record<string, string>>;
  readonly databaseUrl: string;
  readonly databaseName: string;
  readonly storage: PostgresStorage;
  readonly fake: FakeGraph;
  readonly tenants: readonly [TestTenant, TestTenant];
  /** A number the fake knows but no tenant has. */
  readonly strangerNumber: string;
  readonly appSecret: string;
  readonly verifyToken: string;
  /** The operator's Flows keys, as `prestabot flows keygen` and `register-key` use them. */
  readonly flowKeys: FlowKeyAdmin;
  /** Runs SQL on the deployment's database as its owner (not through the app role), for checks. */
  readonly sql: (text: string, params?: readonly unknown[]) => Promise<readonly Record<string, unknown>[]>;
  /** Makes the database refuse every connection (and drops the open ones), or accept them again. */
  readonly setDatabaseAvailable: (available: boolean) => Promise<void>;
  readonly close: () => Promise<void>;
};

const tenantFlowId = '1111222233334444';
const defaultFlowId = '5555666677778888';

const randomKey = () => btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));

export const prepareDeployment = async (
  serverUrl: string,
): Promise<TestDeployment & { readonly port: number }> => {
  const port = await freeLoopbackPort();
  const appSecret = `app-secret-${crypto.randomUUID()}`;
  const verifyToken = `verify-${crypto.randomUUID()}`;
  const suffix = String(Date.now()).slice(-6);
  const tenantsSpec = [
    { phoneNumberId: `10${suffix}01`, accessToken: `EAAG-token-a-${crypto.randomUUID()}` },
    { phoneNumberId: `10${suffix}02`, accessToken: `EAAG-token-b-${crypto.randomUUID()}` },
  ] as const;
  const strangerNumber = `10${suffix}99`;
  const fake = await startFakeGraph({
    numbers: [...tenantsSpec, { phoneNumberId: strangerNumber, accessToken: 'EAAG-stranger' }],
    webhook: { url: `http://127.0.0.1:${port}/webhook`, appSecret, maxAttempts: 1 },
    pairLimit: false,
  });
  const database = await createTestDatabase(serverUrl);
  const key = randomKey();
  const env = {
    DATABASE_URL: database.url,
    PORT: String(port),
    WHATSAPP_VERIFY_TOKEN: verifyToken,
    META_APP_SECRET: appSecret,
    PRESTABOT_ENCRYPTION_KEY: key,
    META_GRAPH_URL: fake.url,
    WHATSAPP_PROFILE_FLOW_ID: defaultFlowId,
    LOG_LEVEL: 'info',
  };
  // Set up as an operator would, through the admin commands' wiring: migrate, add tenants, register keys.
  const operator = await expectOk(
    openBot(loadConfig(env)._unsafeUnwrap(), {
      owner: 'test-setup',
      logger: new RecordingLogger(),
      metrics: new RecordingMetrics(),
      runAfterResponse: () => undefined,
      migrate: true,
      login: 'admin',
    }),
  );
  const manage = operator.admin.tenants;
  const { flowKeys, storage } = operator;
  // Each tenant its own Flows key, registered with Meta; the first its own Flow id, the second the default.
  const tenants: TestTenant[] = [];
  for (const [index, spec] of tenantsSpec.entries()) {
    const { tenantId } = await expectOk(
      manage.addTenant({ name: `Tenant ${index}`, wabaId: '102290129340398', ...spec }),
    );
    if (index === 0) await expectOk(manage.configureTenant(tenantId, { profileFlowId: tenantFlowId }));
    await expectOk(flowKeys.generate(spec.phoneNumberId));
    await expectOk(flowKeys.register(spec.phoneNumberId));
    tenants.push({ tenantId, ...spec, profileFlowId: index === 0 ? tenantFlowId : defaultFlowId });
  }
  const server = new pg.Pool({ connectionString: serverUrl, max: 1 });
  const owner = new pg.Pool({ connectionString: database.url, max: 2 });
  // A dropped connection is expected while the database is switched off; the pool replaces it.
  owner.on('error', () => undefined);
  return {
    port,
    env,
    databaseUrl: database.url,
    databaseName: database.name,
    storage,
    fake,
    tenants: [tenants[0]!, tenants[1]!],
    strangerNumber,
    appSecret,
    verifyToken,
    flowKeys,
    sql: async (text, params = []) => (await owner.query(text, [...params])).rows,
    setDatabaseAvailable: async (available) => {
      const name = pg.escapeIdentifier(database.name);
      await server.query(`ALTER DATABASE ${name} ALLOW_CONNECTIONS ${available ? 'true' : 'false'}`);
      if (!available)
        await server.query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
          [database.name],
        );
    },
    close: async () => {
      await operator.close();
      await fake.close();
      await owner.end();
      await server.query(`ALTER DATABASE ${pg.escapeIdentifier(database.name)} ALLOW_CONNECTIONS true`);
      await server.end();
      await database.drop();
    },
  };
};
