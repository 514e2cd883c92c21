import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestEnv, waitFor, type TestEnv } from '../support/env.js';
import { client, startSystem, type Client, type System } from '../support/system.js';
import { metric } from '../support/failures.js';
import { assertOracle, type Answer } from '../support/oracle.js';
import { startRedisServer, stopRedisServers, type RedisServer } from '../support/redis-servers.js';

const initialLimit = 16;

// A dependency that stops answering (its own redis-server, SIGSTOPped) is the slow dependency
// of a flash sale's worst minute: purchases pile up in flight, and the adaptive admission must
// lower its limit from the latency it measures and shed the excess at once with 503 +
// Retry-After, leave health, metrics and admin routes alone, and come back once Redis answers.
// adaptive admission
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
    // The stall is what this test makes: the CPU rule, fed by whatever else this shared
    // machine runs, must not be the one that moves the limit.
    ADMISSION_CPU_MAX: '1',
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
  const buy = async () => {
    const buyer = `buyer-${seq++}`;
    const response = await fetch(`${sut.baseUrl}/sales/${saleId}/purchase`, {
      method: 'POST',
      headers: api.buyerHeaders(buyer),
      body: JSON.stringify({ quantity: 1 }),
    });
    const body = (await response.json()) as { orderId?: string; error?: { code: string } };
    answers.push({ status: response.status, orderId: body.orderId, buyer, quantity: 1 });
    return { status: response.status, body, retryAfter: response.headers.get('retry-after') };
  };
  // Purchases for a while first: Gradient2's long-term latency is a plain average over its
  // first ten windows, and a stall is judged against a settled one.
  const warmUntil = Date.now() + 1_500;
  while (Date.now() < warmUntil) expect((await buy()).status).toBe(202);
  // A slow purchase (scripts loaded, code compiled) may nudge the limit down; idle, it
  // returns to where it started.
  await waitFor(async () => (await metric(port, 'flashline_admission_limit')) === initialLimit, {
    what: 'the initial limit',
  });

  redis.pause();
  // As many purchases as the limit: each one let in waits on the stalled Redis, and as they
  // age the limit falls.
  const stalled = Array.from({ length: initialLimit }, () => buy());
  const inFlight = () => metric(port, 'flashline_admission_in_flight');
  await waitFor(async () => (await inFlight()) >= 1, { what: 'a purchase stalled in flight' });
  await waitFor(async () => (await metric(port, 'flashline_admission_limit')) < initialLimit, {
    what: 'the limit lowered',
  });
  // More purchases: any let in stalls too (counted in flight) until they fill the limit,
  // which only falls meanwhile; then one is answered at once.
  let shed: Awaited<ReturnType<typeof buy>> | undefined;
  for (let i = 0; i <= initialLimit && !shed; i++) {
    const before = await inFlight();
    let answer: Awaited<ReturnType<typeof buy>> | undefined;
    const attempt = buy().then((a) => (answer = a));
    const outcome = await waitFor(
      async () => (answer ? 'answered' : (await inFlight()) > before ? 'stalled' : null),
      { what: 'a purchase answered or stalled in flight' },
    );
    if (outcome === 'stalled') stalled.push(attempt);
    else shed = answer;
  }
  expect(
    await metric(port, 'flashline_admission_limit_changes_total', {
      signal: 'latency',
      direction: 'down',
    }),
  ).toBeGreaterThan(0);
  expect(shed?.status).toBe(503);
  expect(shed?.body.error?.code).toBe('UNAVAILABLE');
  expect(shed?.retryAfter).toBe('1');
  expect(await metric(port, 'flashline_admission_shed_total')).toBeGreaterThan(0);

  await expectOperationsAnswer(api);

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

// Operations are never shed: the probe, the scrape and the admin routes still answer.
async function expectOperationsAnswer(api: Client) {
  expect((await api.raw('GET', '/healthz', {})).status).toBe(200);
  expect((await api.raw('GET', '/metrics', {})).status).toBe(200);
  expect((await api.raw('POST', '/admin/sales', {}, { sku: 'x' })).status).toBe(401);
  const badSale = await api.raw(
    'POST',
    '/admin/sales',
    { authorization: `Bearer ${env.config.auth.adminToken}`, 'content-type': 'application/json' },
    { sku: '' },
  );
  expect(badSale.status).toBe(400);
  expect((await api.raw('GET', '/admin/queues', {})).status).toBe(401);
}
