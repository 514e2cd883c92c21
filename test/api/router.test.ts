import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '../support/env.js';
import { startApi, type RunningApi } from '../../src/cmd/wiring/api.js';
import { createApp } from '../../src/api/app.js';
import { answerRecorder } from '../../src/api/middleware/http-metrics.js';
import { apiMetrics, createRegistry } from '../../src/observability/metrics.js';
import { signBuyerToken } from '../../src/auth/jwt.js';
import { bullPrefix, orderQueueNames } from '../../src/queues/names.js';
import { Queue } from 'bullmq';

// hono compiles an app's routes into one RegExpRouter when it can and falls back to a
// TrieRouter for the whole app when one route is beyond it; bull-board's are. The fallback
// cost up to a tenth of a sold-out answer's CPU (bench/README.md), so bull-board runs as an
// app of its own and this keeps any route from pulling the API back.
describe('routing', () => {
  let env: TestEnv;
  let api: RunningApi;
  let app: ReturnType<typeof createApp>;

  beforeAll(async () => {
    env = await createTestEnv('router');
    api = await startApi(env.config, env.logger);
    const registry = createRegistry('router-test');
    const metrics = apiMetrics(registry);
    app = createApp(api.deps, registry, metrics, answerRecorder(metrics));
  });
  afterAll(async () => {
    await api?.stop();
    await env?.cleanup();
  });

  it("compiles every route of the API into hono's RegExpRouter", async () => {
    const buyer = `Bearer ${signBuyerToken('router-buyer', env.config.jwt.secret)}`;
    const purchase = await app.request('/sales/424242/purchase', {
      method: 'POST',
      headers: { authorization: buyer, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(purchase.status).toBe(404);
    expect(app.router.name).toBe('SmartRouter + RegExpRouter');
  });

  it('hands bull-board its requests, behind admin auth, errors answered by the API', async () => {
    const refused = await app.request('/admin/queues');
    expect(refused.status).toBe(401);
    expect(refused.headers.get('www-authenticate')).toMatch(/^Basic /);
    expect(await refused.json()).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
    expect((await app.request('/admin/queues/api/queues')).status).toBe(401);

    const admin = { authorization: `Bearer ${env.config.auth.adminToken}` };
    const page = await app.request('/admin/queues', { headers: admin });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Flashline queues');
    const queues = await app.request('/admin/queues/api/queues', { headers: admin });
    expect(queues.status).toBe(200);
    expect(JSON.stringify(await queues.json())).toContain('orders');
    // An action, not only a view, reaches BullMQ through the board.
    const orders = new Queue(orderQueueNames(env.config)[0]!, {
      connection: api.deps.redis,
      prefix: bullPrefix(env.config),
    });
    expect(
      (await app.request('/admin/queues/api/queues/pause', { method: 'PUT', headers: admin }))
        .status,
    ).toBe(200);
    expect(await orders.isPaused()).toBe(true);
    expect(
      (await app.request('/admin/queues/api/queues/resume', { method: 'PUT', headers: admin }))
        .status,
    ).toBe(200);
    expect(await orders.isPaused()).toBe(false);
    await orders.close();

    const unknown = await app.request('/admin/queues/api/no-such-route', { headers: admin });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
  });
});
