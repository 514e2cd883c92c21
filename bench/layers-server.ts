// The sold-out answer rebuilt one layer at a time, as src/api/app.ts stacks them (keep in
// step with it): level 0 is a bare Hono route, each level adds the next layer. Started by
// bench/layers.ts as `layers-server.ts <level> <port>`; GET /__cpu reports process.cpuUsage().
import { createServer } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { Hono } from 'hono';
import type { Context } from 'hono';
import { withEdge } from '../src/api/edge.js';
import { answerRecorder, httpMetrics } from '../src/api/middleware/http-metrics.js';
import { createRegistry, apiMetrics } from '../src/observability/metrics.js';
import { authenticateBuyer } from '../src/api/middleware/auth.js';
import { hs256Buyers } from '../src/auth/buyer-verifier.js';
import { ApiError, errorBody, errorResponse } from '../src/api/api-error.js';
import { parseSaleId, purchaseBodySchema, readJson, rejectQuery } from '../src/api/validation.js';

const level = Number(process.argv[2]);
const port = Number(process.argv[3]);
const metrics = apiMetrics(createRegistry('layers'));
const devBuyers = hs256Buyers('flashline-dev-secret', 64 * 2 ** 20);
const app = new Hono();
// Level 1 is the edge (headers, body limit), in plain Node below.
if (level >= 2) app.use('*', httpMetrics(answerRecorder(metrics)));
const soldOut = new ApiError(409, 'SOLD_OUT', 'not enough stock left');
const refuse = async (c: Context) => {
  // HS256 answers synchronously: nothing to await.
  if (level >= 3) void authenticateBuyer(c.req.header('authorization'), devBuyers);
  if (level >= 4) {
    parseSaleId(c.req.param('saleId') ?? '');
    rejectQuery(c.req.query());
    c.req.header('idempotency-key');
    await readJson(c.req, purchaseBodySchema, {});
    return errorResponse(c, soldOut);
  }
  return c.json(errorBody('SOLD_OUT', 'not enough stock left'), 409);
};
app.post('/sales/:saleId/purchase', refuse);
app.onError((error, c) => errorResponse(c, error as ApiError));
app.get('/__cpu', (c) => c.json(process.cpuUsage()));
const listener = getRequestListener(app.fetch);
createServer(
  level >= 1
    ? withEdge(listener, { maxBodyBytes: 16 * 1024 })
    : (req, res) => void listener(req, res),
).listen(port, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
