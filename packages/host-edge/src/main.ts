// Deno entry: `deno run -A --node-modules-dir=manual packages/host-edge/src/main.ts` (or deployed as a
// Supabase Edge Function / Deno Deploy app). Serves the same Web-standard handler as the Node host.
import { openEdgeBot } from './edge-host.ts';

const opened = await openEdgeBot({
  env: Deno.env.toObject(),
  ...(typeof EdgeRuntime === 'undefined'
    ? {}
    : { waitUntil: (work: Promise<unknown>) => EdgeRuntime?.waitUntil(work) }),
  write: (line) => console.log(line),
});
if ('problems' in opened) {
  for (const problem of opened.problems) console.error(`error: ${problem.message}`);
  Deno.exit(2);
}
const { bot, config } = opened;
const server = Deno.serve(
  {
    port: config.port,
    hostname: '0.0.0.0',
    onListen: ({ port }) =>
      bot.logger.info({ port }, `PrestaBot edge host listening on http://127.0.0.1:${port}`),
  },
  bot.bot.handler,
);
const stop = async () => {
  await server.shutdown();
  await bot.close();
  Deno.exit(0);
};
Deno.addSignalListener('SIGTERM', () => void stop());
Deno.addSignalListener('SIGINT', () => void stop());
