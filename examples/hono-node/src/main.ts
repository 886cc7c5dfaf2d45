import { serve } from '@hono/node-server';
import { createPrestaBot } from '@prestabot/runtime';
import { Hono } from 'hono';
import pg from 'pg';

// The app's own pool: PrestaBot borrows it and leaves closing it to the app.
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL });

const opened = await createPrestaBot({
  pool,
  encryptionKey: process.env.PRESTABOT_ENCRYPTION_KEY,
  verifyToken: process.env.WHATSAPP_VERIFY_TOKEN,
  appSecret: process.env.META_APP_SECRET,
  graph: { url: process.env.META_GRAPH_URL },
  migrate: true,
});
if (opened.isErr()) throw new Error(opened.error.message);
const bot = opened.value;

const app = new Hono();
app.get('/', (c) => c.text('my app'));
// Meta's callback URL is https://<host>/whatsapp/webhook; /whatsapp/healthz for the load balancer.
app.mount('/whatsapp', (request) => bot.fetch(request));

bot.startWorkers();
const server = serve({ fetch: app.fetch, port: Number(process.env.PORT ?? 3000) });
process.once('SIGTERM', () => {
  server.close();
  void bot.stop().then(() => pool.end());
});
