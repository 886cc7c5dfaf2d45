// deno run --allow-all main.ts: PrestaBot on Deno through npm: specifiers, on a PostgreSQL server.
import { createPrestaBot } from 'npm:@prestabot/runtime@^0.1.0';

const opened = await createPrestaBot({
  databaseUrl: Deno.env.get('DATABASE_URL'),
  encryptionKey: Deno.env.get('PRESTABOT_ENCRYPTION_KEY'),
  verifyToken: Deno.env.get('WHATSAPP_VERIFY_TOKEN'),
  appSecret: Deno.env.get('META_APP_SECRET'),
  graph: { url: Deno.env.get('META_GRAPH_URL') },
  migrate: true,
});
if (opened.isErr()) throw new Error(opened.error.message);
const bot = opened.value;

bot.startWorkers();
const server = Deno.serve({ port: Number(Deno.env.get('PORT') ?? 8000) }, (request) => bot.fetch(request));
Deno.addSignalListener('SIGTERM', async () => {
  await server.shutdown();
  await bot.stop();
  Deno.exit(0);
});
