export { prestaBotMiddleware } from './express-app.ts';
export { PrometheusMetrics } from './metrics.ts';
export { nodeHmacSha256 } from './node-hmac.ts';
