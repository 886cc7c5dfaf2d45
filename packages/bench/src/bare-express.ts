#!/usr/bin/env node
// The baseline of the webhook acknowledgement benchmark: a bare Express 5 server that reads the raw body
// (same 3 MB limit as the host) and answers 200, nothing else. Prints `{"url": …}` once listening.

import { maxWebhookBytes } from '@prestabot/application';
import express from 'express';

const app = express();
app.post('/webhook', express.raw({ type: () => true, limit: maxWebhookBytes }), (_request, response) => {
  response.sendStatus(200);
});
const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('the server has no address');
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${address.port}` })}\n`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
