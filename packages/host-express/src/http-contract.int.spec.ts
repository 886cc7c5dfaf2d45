import { fileURLToPath } from 'node:url';
import { describeHttpContract, spawnHost } from '@prestabot/http-contract';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

describeHttpContract({
  name: 'Express host on Node',
  start: (env) => spawnHost(process.execPath, [cli, 'serve'], env),
});
