import { setTimeout as sleep } from 'node:timers/promises';
import { expect, it } from 'vitest';
import { waitFor } from '../support/env.js';
import { assertOracle, type Answer } from '../support/oracle.js';
import { metric } from '../support/failures.js';
import { faultScenario } from '../support/fault-scenario.js';
import { freePort } from '../support/api-process.js';
import { readAof, startRedisServer } from '../support/redis-servers.js';
import { saleKeys } from '../../src/gate/keys.js';

// A Redis rewound to before a sale's orders, with nothing left in flight: every order is
// confirmed in PostgreSQL and every message acked, so no job or message will ever bring the
// lost reservations back. Only the repair that a new run_id sets off can; the routine
// reconciler pass is ten minutes away.
// Redis rewound with nothing in flight
const scenario = faultScenario();

it('is noticed as a new server and repaired at once from PostgreSQL', async () => {
  const redis = await startRedisServer();
  const metricsPort = await freePort();
  const { env, api } = await scenario.open(
    'redis-lost-state',
    { REDIS_URL: redis.url, RECONCILE_INTERVAL_MS: '600000' },
    { COMPENSATOR_PORT: String(metricsPort) },
  );
  const stock = 20;
  const sale = await api.createSale({ sku: 'rewound', name: 'Rewound', stock, perUserLimit: 2 });
  const saleId = sale.body.id as number;
  const keys = saleKeys(env.config.redis.prefix, saleId);
  await waitFor(async () => (await redis.cli('HGET', keys.sale, 'remaining')) === '20', {
    what: 'the sale in Redis',
  });
  // Let the AOF hold the sale (fsync every second) before taking the copy.
  await sleep(1500);
  const copy = await redis.copyAof();

  // Six buyers take two units each, with an Idempotency-Key.
  const answers: Answer[] = [];
  const orderOfKey = new Map<string, string>();
  for (let i = 0; i < 6; i++) {
    const buyer = `b${i}`;
    const bought = await api.purchase(
      saleId,
      buyer,
      { quantity: 2 },
      { 'idempotency-key': `k${i}` },
    );
    expect(bought.status).toBe(202);
    answers.push({ status: 202, orderId: bought.body.orderId, buyer, quantity: 2 });
    orderOfKey.set(buyer, bought.body.orderId as string);
  }
  await assertOracle(env, saleId, answers);
  const lostBefore = await metric(metricsPort, 'flashline_redis_lost_state_total');

  await redis.kill9();
  await redis.restoreAof(copy);
  await redis.restart();
  // The copy really is older than every order (the repair may already be done by now).
  const copied = await readAof(copy);
  expect(copied).toContain(keys.sale);
  for (const orderId of orderOfKey.values()) expect(copied).not.toContain(orderId);

  // Repaired from PostgreSQL: the units sold are taken again, and the buyers' allowance...
  await waitFor(async () => (await redis.cli('HGET', keys.sale, 'remaining')) === '8', {
    timeoutMs: 20_000,
    what: 'remaining back to stock - sold',
  });
  expect(await metric(metricsPort, 'flashline_redis_lost_state_total')).toBe(lostBefore + 1);
  // The pass goes on (stale reservations, drift) after restoring: it is counted at its end.
  await waitFor(
    async () =>
      (await metric(metricsPort, 'flashline_reconciler_passes_total', {
        kind: 'repair',
        result: 'ok',
      })) >= 1,
    { what: 'the repair pass counted' },
  );
  const more = await api.purchase(saleId, 'b0', { quantity: 1 });
  expect(more.status, 'b0 already holds the limit').toBe(409);
  expect(more.body.error.code).toBe('LIMIT_REACHED');
  // ...and each Idempotency-Key replays its order instead of buying again.
  for (const [buyer, orderId] of orderOfKey) {
    const retried = await api.purchase(
      saleId,
      buyer,
      { quantity: 2 },
      { 'idempotency-key': `k${buyer.slice(1)}` },
    );
    expect(retried.status).toBe(202);
    expect(retried.body.orderId).toBe(orderId);
  }
  await assertOracle(env, saleId, answers);
});
