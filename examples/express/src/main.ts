import { PrometheusMetrics, prestaBotMiddleware } from '@prestabot/host-express';
import { createPrestaBot } from '@prestabot/runtime';
import express from 'express';

const metrics = new PrometheusMetrics();
const opened = await createPrestaBot({
  databaseUrl: process.env.DATABASE_URL,
  encryptionKey: process.env.PRESTABOT_ENCRYPTION_KEY,
  verifyToken: process.env.WHATSAPP_VERIFY_TOKEN,
  appSecret: process.env.META_APP_SECRET,
  graph: { url: process.env.META_GRAPH_URL },
  metrics,
  migrate: true,
});
if (opened.isErr()) throw new Error(opened.error.message);
const bot = opened.value;

const app = express();
// Before any body parser of the app's: webhook signatures cover the raw bytes.
app.use('/whatsapp', prestaBotMiddleware(bot));
app.get('/metrics', async (_req, res) => {
  res.type(metrics.registry.contentType).send(await metrics.text());
});
app.get('/', (_req, res) => {
  res.send('my app');
});

bot.startWorkers();
const server = app.listen(Number(process.env.PORT ?? 3000));
process.once('SIGTERM', () => {
  server.close();
  void bot.stop();
});
