export { prestaBotMiddleware } from './express-app.ts';
export { PrometheusMetrics } from './metrics.ts';
