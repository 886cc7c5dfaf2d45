#!/usr/bin/env node
// The proof that a stranger can use PrestaBot (`pnpm test:pack`, run by CI): every publishable package is
// packed with `pnpm pack`, the tarballs are installed with npm into a project of its own outside the
// workspace, the Hono example is type-checked there (moduleResolution nodenext, then bundler) and started
// against a throwaway PostgreSQL database and the fake Graph API (from its tarball); a signed webhook goes
// through it, and the bot's answer must reach the fake. Then the Deno example does the same through `npm:`
// specifiers. Also checks that the README's "Embedding" code is the Hono example's code.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  copyFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(join(root, 'package.json'));
const publishable = [
  'domain',
  'application',
  'adapters-meta',
  'adapters-webcrypto',
  'adapters-postgres',
  'runtime',
  'host-express',
  'host-edge',
  'fake-graph',
];
const phoneNumberId = '106540352242922';
/** The number's WhatsApp Business Account, the same at the fake and in the tenant's record. */
const wabaId = '102290129340398';
const verifyToken = randomBytes(8).toString('hex');
const started = Date.now();
const step = (what) => console.log(`\n[pack-test ${((Date.now() - started) / 1000).toFixed(1)} s] ${what}`);

const run = (command, args, options = {}) => {
  const result = spawnSync(command, args, { stdio: 'inherit', ...options });
  if (result.status !== 0)
    throw new Error(`${command} ${args.join(' ')} exited ${result.status ?? result.signal}`);
};

/** pnpm as this script was started (`pnpm test:pack`), else the project's pinned one through npx. */
const pnpm = (args, options) =>
  process.env.npm_execpath?.includes('pnpm')
    ? run(process.execPath, [process.env.npm_execpath, ...args], options)
    : run('npx', ['--yes', 'pnpm@10.34.8', ...args], options);

// -- the README's Embedding section is the example, character for character ---------------------------

const exampleCode = readFileSync(join(root, 'examples/hono-node/src/main.ts'), 'utf8');
const embedding = /## Embedding\n[\s\S]*?```ts\n([\s\S]*?)```/.exec(
  readFileSync(join(root, 'README.md'), 'utf8'),
);
if (embedding?.[1] !== exampleCode) {
  console.error(
    "README.md's Embedding code differs from examples/hono-node/src/main.ts: copy the example there",
  );
  process.exit(1);
}

const work = mkdtempSync(join(tmpdir(), 'prestabot-pack-'));
const tarballs = join(work, 'tarballs');
const app = join(work, 'app');
const expressApp = join(work, 'express');
const children = [];
let database;

const withServer = async (use) => {
  const { Client } = require('pg');
  const client = new Client({
    connectionString: process.env.TEST_POSTGRES_SERVER_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    connectionTimeoutMillis: 5000,
  });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
};

const freePort = () =>
  new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });

/** Starts a process that announces itself on its first stdout line; resolves with it and that line. */
const start = (command, args, env) =>
  new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: app, env, stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    let buffered = '';
    let done = false;
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      if (!done) buffered += chunk;
      const newline = buffered.indexOf('\n');
      if (!done && newline >= 0) {
        done = true;
        resolve({ child, line: buffered.slice(0, newline) });
      }
    });
    child.once('exit', (code) => done || reject(new Error(`${command} exited ${code} before it was ready`)));
  });

const stop = (child) =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });

const until = async (what, check, timeoutMs = 30_000) => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
};

const json = async (url, init) => {
  const response = await fetch(url, init);
  if (!response.ok) throw new Error(`${init?.method ?? 'GET'} ${url}: ${response.status}`);
  return response.json();
};

/**
 * One bot, started by `startBot()` as a host a stranger would write, proves itself: Meta's GET
 * verification, then a signed text message from the fake that must be answered through the fake.
 */
const sendThrough = async (name, mountUrl, fakeGraph, startBot) => {
  step(`${name}: starting`);
  const bot = startBot();
  children.push(bot);
  try {
    await until(`${name} /healthz`, async () => (await fetch(`${mountUrl}/healthz`)).ok);
    const challenge = randomBytes(4).toString('hex');
    const verification = await fetch(
      `${mountUrl}/webhook?hub.mode=subscribe&hub.verify_token=${verifyToken}&hub.challenge=${challenge}`,
    );
    if ((await verification.text()) !== challenge)
      throw new Error(`${name}: GET /webhook did not echo the challenge`);

    const since = Date.now();
    const waId = `569${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;
    const { deliveries } = await json(`${fakeGraph}/_fake/webhooks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        items: [
          {
            kind: 'message',
            phoneNumberId,
            from: { waId, profileName: 'Ana' },
            content: { type: 'text', body: 'hola' },
          },
        ],
      }),
    });
    const answered = deliveries.map((delivery) => delivery.attempts.at(-1)?.status);
    if (!answered.every((status) => status === 200))
      throw new Error(`${name}: the webhook was answered ${answered}`);
    const reply = await until(`${name}: the reply at the fake Graph API`, async () => {
      const { messages } = await json(`${fakeGraph}/_fake/numbers/${phoneNumberId}/messages?since=${since}`);
      return messages.find(
        (message) => message.wamid !== undefined && JSON.stringify(message).includes(waId),
      );
    });
    console.log(`${name}: the signed webhook was answered with a ${reply.message.type} message to ${waId}`);
  } finally {
    await stop(bot);
  }
};

try {
  step('packing every publishable package');
  mkdirSync(tarballs, { recursive: true });
  for (const name of publishable)
    pnpm(['pack', '--pack-destination', tarballs], {
      cwd: join(root, 'packages', name),
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  const packed = readdirSync(tarballs).map((file) => join(tarballs, file));
  console.log(packed.map((file) => file.slice(tarballs.length + 1)).join('\n'));

  // The tarballs stand in for each example's `@prestabot/…` entries, which the registry does not have.
  const install = (example, project) => {
    step(`installing the tarballs and the ${example} example with npm, outside the workspace`);
    cpSync(join(root, 'examples', example), project, { recursive: true });
    run('npm', ['install', ...packed, '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], {
      cwd: project,
    });
    const tsc = join(project, 'node_modules/typescript/bin/tsc');
    step(`type-checking the ${example} example: moduleResolution nodenext`);
    run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: project });
    step(`type-checking the ${example} example: moduleResolution bundler`);
    const bundler = ['--noEmit', '--module', 'preserve', '--moduleResolution', 'bundler'];
    run(process.execPath, [tsc, '-p', 'tsconfig.json', ...bundler], { cwd: project });
  };
  install('hono-node', app);
  copyFileSync(join(root, 'examples/deno/main.ts'), join(app, 'deno-main.ts'));
  install('express', expressApp);

  const declarations = (dir) =>
    readdirSync(dir, { withFileTypes: true, recursive: true })
      .filter((entry) => entry.isFile() && entry.name.endsWith('.d.ts'))
      .map((entry) => join(entry.parentPath, entry.name));
  const tsImports = declarations(join(app, 'node_modules/@prestabot')).filter((file) =>
    /from\s+['"]\.\.?\/[^'"]*\.ts['"]/.test(readFileSync(file, 'utf8')),
  );
  if (tsImports.length > 0) throw new Error(`declarations still import ./x.ts: ${tsImports.join(', ')}`);

  step('a throwaway database, the fake Graph API, a tenant added with the installed CLI');
  database = `prestabot_pack_${randomBytes(4).toString('hex')}`;
  await withServer((client) => client.query(`CREATE DATABASE ${database}`));
  const databaseUrl = new URL(
    process.env.TEST_POSTGRES_SERVER_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  );
  databaseUrl.pathname = `/${database}`;
  const appSecret = randomBytes(16).toString('hex');
  const accessToken = `EAAG${randomBytes(12).toString('hex')}`;
  /** A fake Graph API of its own for each host, delivering its webhooks to that host. */
  const fakeGraphFor = async (webhookUrl) => {
    const fake = await start(
      process.execPath,
      [
        join(app, 'node_modules/@prestabot/fake-graph/dist/cli.js'),
        ...[
          '--number',
          `${phoneNumberId}:${accessToken}:80:${wabaId}`,
          '--webhook-url',
          webhookUrl,
          '--app-secret',
          appSecret,
        ],
      ],
      process.env,
    );
    return JSON.parse(fake.line).url;
  };
  const env = {
    ...process.env,
    DATABASE_URL: databaseUrl.toString(),
    PRESTABOT_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    WHATSAPP_VERIFY_TOKEN: verifyToken,
    META_APP_SECRET: appSecret,
    LOG_LEVEL: 'warn',
  };
  const prestabot = join(app, 'node_modules/.bin/prestabot');
  run(prestabot, ['migrate'], { cwd: app, env });
  // The Flow JSON ships inside host-express: printing it must not depend on the monorepo.
  const flow = spawnSync(prestabot, ['flows', 'print-json'], { cwd: app, env, encoding: 'utf8' });
  if (flow.status !== 0 || !Array.isArray(JSON.parse(flow.stdout).screens))
    throw new Error(`prestabot flows print-json failed: ${flow.stderr}`);
  writeFileSync(join(work, 'token'), accessToken);
  const tenant = ['--name', 'Pack test', '--phone-number-id', phoneNumberId, '--waba-id', wabaId];
  run(prestabot, ['tenants', 'add', ...tenant, '--access-token-file', join(work, 'token')], {
    cwd: app,
    env,
  });

  const honoPort = await freePort();
  const honoMount = `http://127.0.0.1:${honoPort}/whatsapp`;
  const honoGraph = await fakeGraphFor(`${honoMount}/webhook`);
  await sendThrough('Hono on Node', honoMount, honoGraph, () =>
    spawn(process.execPath, ['dist/main.js'], {
      cwd: app,
      env: { ...env, PORT: String(honoPort), META_GRAPH_URL: honoGraph },
      stdio: 'inherit',
    }),
  );

  const expressPort = await freePort();
  const expressMount = `http://127.0.0.1:${expressPort}/whatsapp`;
  const expressGraph = await fakeGraphFor(`${expressMount}/webhook`);
  await sendThrough('Express', expressMount, expressGraph, () =>
    spawn(process.execPath, ['dist/main.js'], {
      cwd: expressApp,
      env: { ...env, PORT: String(expressPort), META_GRAPH_URL: expressGraph },
      stdio: 'inherit',
    }),
  );

  // The binary itself, not the npm shim, so that a signal reaches Deno.
  const denoPackage = require.resolve('deno/package.json', { paths: [join(root, 'packages/host-edge')] });
  const deno = join(dirname(denoPackage), 'deno');
  const denoPort = await freePort();
  const denoMount = `http://127.0.0.1:${denoPort}`;
  const denoGraph = await fakeGraphFor(`${denoMount}/webhook`);
  step('type-checking the Deno example');
  run(deno, ['check', '--quiet', '--node-modules-dir=manual', 'deno-main.ts'], { cwd: app });
  await sendThrough('Deno', denoMount, denoGraph, () =>
    spawn(deno, ['run', '--allow-all', '--quiet', '--node-modules-dir=manual', 'deno-main.ts'], {
      cwd: app,
      env: { ...env, PORT: String(denoPort), META_GRAPH_URL: denoGraph },
      stdio: 'inherit',
    }),
  );
} finally {
  for (const child of children) await stop(child);
  if (database !== undefined)
    await withServer((client) => client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`)).catch(
      (error) => console.error(`could not drop ${database}: ${error.message}`),
    );
  if (process.env.PACK_TEST_KEEP === undefined) rmSync(work, { recursive: true, force: true });
}
step('passed');
