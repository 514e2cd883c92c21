// The sold-out answer rebuilt one layer at a time, as src/api/app.ts stacks them (keep in
// step with it): level 0 is a bare Hono route, each level adds the next layer. Started by
// bench/layers.ts as `layers-server.ts <level> <port>`; GET /__cpu reports process.cpuUsage().
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { requestId } from 'hono/request-id';
import { secureHeaders } from 'hono/secure-headers';
import { routePath } from 'hono/route';
import type { Context } from 'hono';
import { createRegistry, apiMetrics } from '../src/observability/metrics.js';
import { declaredBodyLimit } from '../src/api/middleware/body-limit.js';
import { requireBuyer } from '../src/api/middleware/auth.js';
import { ApiError, errorBody } from '../src/api/api-error.js';
import { parseSaleId, purchaseBodySchema, readJson } from '../src/api/validation.js';

const level = Number(process.argv[2]);
const port = Number(process.argv[3]);
const metrics = apiMetrics(createRegistry('layers'));
const app = new Hono();
if (level >= 1) app.use('*', requestId());
if (level >= 2) app.use('*', secureHeaders());
if (level >= 3) {
  app.use('*', async (c, next) => {
    const started = performance.now();
    await next();
    const labels = { route: routePath(c, -1), method: c.req.method, status: String(c.res.status) };
    metrics.httpRequests.inc(labels);
    metrics.httpDuration.observe(labels, (performance.now() - started) / 1000);
  });
}
if (level >= 4)
  app.use('*', declaredBodyLimit({ maxSize: 16 * 1024, onError: (c) => c.json({}, 413) }));
const soldOut = new ApiError(409, 'SOLD_OUT', 'not enough stock left');
const refuse = async (c: Context) => {
  if (level >= 6) {
    parseSaleId(c.req.param('saleId') ?? '');
    c.req.header('idempotency-key');
    await readJson(c.req, purchaseBodySchema, {});
    throw soldOut;
  }
  return c.json(errorBody('SOLD_OUT', 'not enough stock left'), 409);
};
const path = '/sales/:saleId/purchase';
if (level >= 5) app.post(path, requireBuyer('flashline-dev-secret'), refuse);
else app.post(path, refuse);
app.onError((error, c) => {
  const e = error as ApiError;
  return c.json(errorBody(e.code, e.message), e.status, e.headers);
});
app.get('/__cpu', (c) => c.json(process.cpuUsage()));
serve({ fetch: app.fetch, port, hostname: '127.0.0.1' });
process.on('SIGTERM', () => process.exit(0));
