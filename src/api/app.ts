import { Hono } from 'hono';
import { requestId } from 'hono/request-id';
import { secureHeaders } from 'hono/secure-headers';
import { routePath } from 'hono/route';
import type { Registry } from 'prom-client';
import type { ApiDeps } from './deps.js';
import { errorBody } from './api-error.js';
import { apiMetrics, saleRemainingGauge } from '../observability/metrics.js';
import { adminSalesRoutes } from './routes/admin-sales.js';
import { salesRoutes } from './routes/sales.js';
import { ordersRoutes } from './routes/orders.js';
import { healthRoutes } from './routes/health.js';
import { adminQueuesPath, adminQueuesRoutes } from './admin-queues.js';
import { httpTracing } from '../observability/http-tracing.js';
import { remainingBySale } from './sale-remaining.js';
import { requestLogger } from './middleware/request-logger.js';
import { onError } from './middleware/on-error.js';
import { declaredBodyLimit } from './middleware/body-limit.js';

export const maxBodyBytes = 16 * 1024;

export function createApp(deps: ApiDeps, registry: Registry) {
  const metrics = apiMetrics(registry);
  saleRemainingGauge(registry, () => remainingBySale(deps.gate));
  const app = new Hono();

  // Scrapes, probes and bull-board's polling would drown the purchases in span noise.
  app.use('*', httpTracing(['/metrics', '/healthz', '/readyz', adminQueuesPath]));
  app.use('*', requestId());
  app.use('*', requestLogger(deps.logger));
  app.use('*', secureHeaders());
  app.use('*', async (c, next) => {
    const started = performance.now();
    await next();
    // The route template, never the raw path, keeps label cardinality bounded.
    const labels = { route: routePath(c, -1), method: c.req.method, status: String(c.res.status) };
    metrics.httpRequests.inc(labels);
    metrics.httpDuration.observe(labels, (performance.now() - started) / 1000);
  });
  app.use(
    '*',
    declaredBodyLimit({
      maxSize: maxBodyBytes,
      onError: (c) =>
        c.json(errorBody('PAYLOAD_TOO_LARGE', `body exceeds ${maxBodyBytes} bytes`), 413),
    }),
  );

  app.route('/', healthRoutes(deps));
  app.get('/metrics', async (c) =>
    c.text(await registry.metrics(), 200, { 'content-type': registry.contentType }),
  );
  app.route('/admin/sales', adminSalesRoutes(deps));
  app.route(adminQueuesPath, adminQueuesRoutes(deps));
  app.route('/sales', salesRoutes(deps, metrics));
  app.route('/orders', ordersRoutes(deps));

  app.notFound((c) => c.json(errorBody('NOT_FOUND', 'no such route'), 404));
  app.onError(onError(deps.logger, metrics));
  return app;
}
export type App = ReturnType<typeof createApp>;
