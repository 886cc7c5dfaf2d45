import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeHttpContract, spawnHost } from '@prestabot/http-contract';

// The binary itself, not the npm bin shim: the shim runs Deno as its own child, so a signal sent to
// the shim would leave Deno running.
const deno = join(dirname(createRequire(import.meta.url).resolve('deno/package.json')), 'deno');
const entry = fileURLToPath(new URL('./main.ts', import.meta.url));
const packageRoot = fileURLToPath(new URL('..', import.meta.url));

// Real Deno 2, installed by the project from npm; its WebCrypto checks the signatures.
describeHttpContract({
  name: 'edge host on Deno',
  start: (env) =>
    spawnHost(
      deno,
      [
        'run',
        '--allow-all',
        '--node-modules-dir=manual',
        '--quiet',
        `--config=${packageRoot}deno.json`,
        entry,
      ],
      env,
    ),
});
