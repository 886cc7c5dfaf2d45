import { fileURLToPath } from 'node:url';
import { describeHttpContract, spawnHost } from '@prestabot/http-contract';

const deno = fileURLToPath(new URL('../node_modules/.bin/deno', import.meta.url));
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
