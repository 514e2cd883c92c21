import { Hono, type Context } from 'hono';
import { secureHeaders } from 'hono/secure-headers';
import type { Registry } from 'prom-client';
import type { ApiDeps } from './deps.js';
import { routeNotFound } from './api-error.js';
import {
  saleRemainingGauge,
  saleShardRemainingGauge,
  type ApiMetrics,
} from '../observability/metrics.js';
import { adminSalesRoutes } from './routes/admin-sales.js';
import { salesRoutes } from './routes/sales.js';
import { ordersRoutes } from './routes/orders.js';
import { healthRoutes } from './routes/health.js';
import { adminQueuesApp, adminQueuesPath } from './admin-queues.js';
import { httpTracing } from '../observability/http-tracing.js';
import { tracingEnabled } from '../observability/tracing.js';
import { remainingBySale, shardRemainingBySale } from './sale-remaining.js';
import { httpMetrics, type RecordAnswer } from './middleware/http-metrics.js';
import { onError } from './middleware/on-error.js';
import { metricsText } from './cluster.js';
import { paymentsRoutes } from './routes/payments.js';
import { paymentMetrics } from '../observability/payment-metrics.js';
import { challengeRoutes } from './routes/challenge.js';
import { queueRoutes } from './routes/queue.js';
import { apiDescriptionRoutes, docsPath } from './openapi/document.js';
import { adminOrdersRoutes } from './routes/admin-orders.js';
import { roomPageRoutes } from './room-page.js';

export const maxBodyBytes = 16 * 1024;

// Every route that answers HTML, or a file an HTML page loads.
const pagePaths = [
  '/sales/:saleId/room',
  '/room/*',
  docsPath,
  adminQueuesPath,
  `${adminQueuesPath}/*`,
];

// The body limit (maxBodyBytes) is enforced before the app, by the edge (./edge.ts).
export function createApp(
  deps: ApiDeps,
  registry: Registry,
  metrics: ApiMetrics,
  recordAnswer: RecordAnswer,
) {
  saleRemainingGauge(registry, () => remainingBySale(deps.gate));
  saleShardRemainingGauge(registry, () => shardRemainingBySale(deps.gate));
  const app = new Hono();

  // Every layer here runs for every answer of a sold-out storm: a layer that has nothing to
  // do is not added. The secure headers, X-Request-Id and the body limit are the edge's
  // (./edge.ts), and tracing is decided once, at startup.
  if (tracingEnabled()) {
    // Scrapes, probes and bull-board's polling would drown the purchases in span noise.
    app.use('*', httpTracing(['/metrics', '/healthz', '/readyz', adminQueuesPath]));
  }
  app.use('*', httpMetrics(recordAnswer));
  // The pages a browser opens get the document headers too (hono's whole default set), on
  // top of the API's that the edge sets on every answer. Few requests, so the middleware's
  // cost does not matter here.
  const pageHeaders = secureHeaders();
  for (const path of pagePaths) app.use(path, pageHeaders);

  app.route('/', healthRoutes(deps));
  const scrape = metricsText(registry);
  app.get('/metrics', async (c) =>
    c.text(await scrape(), 200, { 'content-type': registry.contentType }),
  );
  app.route('/admin/sales', adminSalesRoutes(deps));
  app.route('/admin/sales', adminOrdersRoutes(deps));
  // Its own app with its own router, handed the requests under its path (./admin-queues.ts).
  const board = adminQueuesApp(deps);
  const toBoard = (c: Context) => board.fetch(c.req.raw, c.env);
  app.all(adminQueuesPath, toBoard);
  app.all(`${adminQueuesPath}/*`, toBoard);
  app.route('/sales', salesRoutes(deps, metrics));
  app.route('/sales', challengeRoutes(deps));
  app.route('/sales', queueRoutes(deps));
  const room = roomPageRoutes();
  app.route('/sales', room.page);
  app.route('/room', room.files);
  const payments = paymentMetrics(registry, deps.config.payment.expiryLateAfterMs / 1000);
  app.route('/orders', ordersRoutes(deps, payments));
  app.route('/payments', paymentsRoutes(deps, payments));
  app.route('/', apiDescriptionRoutes());

  app.notFound(routeNotFound);
  app.onError(onError(deps.logger, metrics));
  return app;
}
export type App = ReturnType<typeof createApp>;
