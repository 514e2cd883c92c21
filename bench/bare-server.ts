// The ceiling (a): a bare Hono route on @hono/node-server, answering the purchase path with a
// body of the same size as a sold-out answer and nothing else: no middleware, no JWT.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

const app = new Hono();
const body = { error: { code: 'SOLD_OUT', message: 'not enough stock left' } };
app.post('/sales/:saleId/purchase', (c) => c.json(body, 409));
// The waiting room's routes' ceilings (bench/waiting-room.ts): a place of the same size as the
// room's answers, and nothing else.
const place = {
  saleId: 1,
  state: 'waiting',
  position: 51234,
  ahead: 51233,
  etaSeconds: 120,
  pollAfterMs: 2000,
  ticket: 'x'.repeat(70),
};
app.post('/sales/:saleId/queue', (c) => c.json(place));
app.get('/sales/:saleId/queue', (c) => c.json(place));

const port = Number(process.argv[2] ?? 0);
serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, (info) => {
  process.stdout.write(`listening ${info.port}\n`);
});
process.on('SIGTERM', () => process.exit(0));
