import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, waitFor, type TestEnv } from '../support/env.js';
import { client, startSystem, type System } from '../support/system.js';
import { metric } from '../support/failures.js';
import { assertOracle, type Answer } from '../support/oracle.js';
import { startRedisServer, stopRedisServers, type RedisServer } from '../support/redis-servers.js';

const initialLimit = 16;

// A dependency that stops answering (its own redis-server, SIGSTOPped) is the slow dependency
// of a flash sale's worst minute: purchases pile up in flight, and the adaptive admission must
// lower its limit from the latency it measures and shed the excess at once with 503 +
// Retry-After, leave health, metrics and admin routes alone, and come back once Redis answers.
describe('adaptive admission', () => {
  let env: TestEnv;
  let redis: RedisServer;
  let sut: System;

  beforeAll(async () => {
    redis = await startRedisServer();
    env = await createTestEnv('admission', {
      REDIS_URL: redis.url,
      ADMISSION: 'adaptive',
      ADMISSION_INITIAL_LIMIT: String(initialLimit),
      ADMISSION_MIN_LIMIT: '2',
      ADMISSION_WINDOW_MS: '50',
    });
    sut = await startSystem(env);
  });
  afterAll(async () => {
    redis?.resume();
    await sut?.stop();
    await stopRedisServers();
    await env?.cleanup();
  });

  it('lowers its limit and sheds while Redis stalls, never sheds operations, and recovers', async () => {
    const api = client(sut.baseUrl, env);
    const port = sut.api.port;
    const created = await api.createSale({ sku: 'adm-1', name: 'Admission', stock: 1_000 });
    const saleId = created.body.id as number;
    const answers: Answer[] = [];
    let seq = 0;
    const buy = async (signal?: AbortSignal) => {
      const buyer = `buyer-${seq++}`;
      const response = await fetch(`${sut.baseUrl}/sales/${saleId}/purchase`, {
        method: 'POST',
        headers: api.buyerHeaders(buyer),
        body: JSON.stringify({ quantity: 1 }),
        ...(signal ? { signal } : {}),
      });
      const body = (await response.json()) as { orderId?: string; error?: { code: string } };
      answers.push({ status: response.status, orderId: body.orderId, buyer, quantity: 1 });
      return { status: response.status, body, retryAfter: response.headers.get('retry-after') };
    };
    for (let i = 0; i < 3; i++) expect((await buy()).status).toBe(202);
    expect(await metric(port, 'flashline_admission_limit')).toBe(initialLimit);

    redis.pause();
    // As many purchases as the limit lets in: each one admitted waits on the stalled Redis
    // (the limit may already fall while they arrive, and the last ones be shed).
    const stalled = Array.from({ length: initialLimit }, () => buy());
    await waitFor(
      async () => {
        const limit = await metric(port, 'flashline_admission_limit');
        const inFlight = await metric(port, 'flashline_admission_in_flight');
        return limit < initialLimit && inFlight > 0 && inFlight >= limit;
      },
      { what: 'the limit lowered to the purchases stalled in flight' },
    );
    expect(
      await metric(port, 'flashline_admission_limit_changes_total', {
        signal: 'latency',
        direction: 'down',
      }),
    ).toBeGreaterThan(0);
    // Over the limit: answered at once, not queued behind the stalled ones (a purchase let in
    // would wait for Redis and hit this timeout).
    const shed = await buy(AbortSignal.timeout(10_000));
    expect(shed.status).toBe(503);
    expect(shed.body.error?.code).toBe('UNAVAILABLE');
    expect(shed.retryAfter).toBe('1');
    expect(await metric(port, 'flashline_admission_shed_total')).toBeGreaterThan(0);

    // Operations are never shed: the probe, the scrape and the admin routes still answer.
    expect((await api.raw('GET', '/healthz', {})).status).toBe(200);
    expect((await api.raw('GET', '/metrics', {})).status).toBe(200);
    expect((await api.raw('POST', '/admin/sales', {}, { sku: 'x' })).status).toBe(401);
    const badSale = await api.raw(
      'POST',
      '/admin/sales',
      { authorization: `Bearer ${env.config.adminToken}`, 'content-type': 'application/json' },
      { sku: '' },
    );
    expect(badSale.status).toBe(400);
    expect((await api.raw('GET', '/admin/queues', {})).status).toBe(401);

    redis.resume();
    const released = (await Promise.all(stalled)).map((answer) => answer.status);
    expect(released).toContain(202);
    expect(released.every((status) => status === 202 || status === 503)).toBe(true);
    await waitFor(async () => (await metric(port, 'flashline_admission_limit')) >= initialLimit, {
      what: 'the limit back to its initial value',
    });
    expect((await buy()).status).toBe(202);

    // Nothing shed reserved anything; every 202 ends confirmed.
    const result = await assertOracle(env, saleId, answers, { redisUrl: redis.url });
    expect(result.confirmedUnits).toBe(answers.filter((a) => a.status === 202).length);
  });
});
