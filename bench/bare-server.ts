// The ceiling (a): a bare Hono route on @hono/node-server, answering the purchase path with a
// body of the same size as a sold-out answer and nothing else: no middleware, no JWT.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const app = new Hono();
const body = { error: { code: 'SOLD_OUT', message: 'not enough stock left' } };
app.post('/sales/:saleId/purchase', (c) => c.json(body, 409));

const port = Number(process.argv[2] ?? 0);
serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, (info) => {
  process.stdout.write(`listening ${info.port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
