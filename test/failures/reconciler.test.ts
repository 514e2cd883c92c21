import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { stopInTurn } from '../support/stop-in-turn.js';
import { createTestEnv, waitFor, type TestEnv } from '../support/env.js';
import { client, groupByStatus, type Client } from '../support/system.js';
import { assertOracle, type Answer } from '../support/oracle.js';
import { metric, startTestCompensator, type RunningCompensator } from '../support/failures.js';
import { startApi, type RunningApi } from '../../src/cmd/wiring/api.js';
import { startBridge } from '../../src/cmd/wiring/bridge.js';
import { startWorker } from '../../src/cmd/wiring/worker.js';
import { createRedis, type RedisClient } from '../../src/redis/connection.js';
import { mintOrderId } from '../../src/gate/order-id.js';
import type { Gate } from '../../src/gate/gate.js';
import { saleKeys } from '../../src/gate/keys.js';
import { buyersNamed, buyOnce } from '../support/buyers.js';

// the reconciler
let env: TestEnv;
let api: RunningApi;
let bridge: Awaited<ReturnType<typeof startBridge>>;
let worker: Awaited<ReturnType<typeof startWorker>> | undefined;
let sut: RunningCompensator;
let redis: RedisClient;
let buyers: Client;
let gate: Gate;

beforeAll(async () => {
  // A pass a second, so a test can read the drift gauge between a pass and the next.
  env = await createTestEnv('reconciler', {
    RECONCILE_STALE_AFTER_MS: '500',
    RECONCILE_INTERVAL_MS: '1000',
  });
  api = await startApi(env.config, env.logger);
  bridge = await startBridge(env.config, env.logger);
  sut = await startTestCompensator(env);
  redis = createRedis(env.config);
  buyers = client(`http://127.0.0.1:${api.port}`, env);
  gate = api.deps.gate;
});
afterAll(() => stopInTurn(redis, sut, worker, bridge, api, env));

const createSale = async (sku: string, stock: number, perUserLimit = 1) =>
  (await buyers.createSale({ sku, name: sku, stock, perUserLimit })).body.id as number;
const buy = async (saleId: number, buyer: string, quantity = 1): Promise<Answer> => {
  const answer = await buyers.purchase(saleId, buyer, { quantity });
  return { status: answer.status, orderId: answer.body?.orderId, buyer, quantity };
};
const drift = (saleId: number) =>
  metric(sut.metricsPort, 'flashline_reconciler_drift_units', { sale: String(saleId) });
const remaining = async (saleId: number) => (await buyers.sale(saleId)).body.remaining as number;

it('fails a reservation that was never queued, and leaves a queued one alone', async () => {
  const saleId = await createSale('stale', 5, 2);
  // The API reserved, then died before publishing: no message, no job, no 202.
  const lostOrderId = mintOrderId(saleId);
  const reserved = await gate.reserve({
    saleId,
    orderId: lostOrderId,
    buyer: 'lost',
    quantity: 2,
  });
  expect(reserved.kind).toBe('reserved');
  // Queued in BullMQ, but no worker runs yet: late, not lost.
  const patient = await buy(saleId, 'patient');
  expect(patient.status).toBe(202);
  expect(await remaining(saleId)).toBe(2);

  await waitFor(async () => (await buyers.order(lostOrderId, 'lost')).body.status === 'failed', {
    what: 'the stale reservation failed',
  });
  expect((await buyers.order(lostOrderId, 'lost')).body.reason).toBe('stale_reservation');
  expect(await remaining(saleId)).toBe(4);
  expect(
    await metric(sut.metricsPort, 'flashline_reconciled_orders_total', { result: 'returned' }),
  ).toBe(1);
  expect(await metric(sut.metricsPort, 'flashline_stock_returned_units_total')).toBe(2);

  // Two more passes: the queued order, older than the age too, is still pending.
  await sleep(2_200);
  expect((await gate.reservation(saleId, patient.orderId!))?.state).toBe('pending');
  expect((await buyers.order(patient.orderId!, 'patient')).body.status).toBe('pending');

  worker = await startWorker(env.config, env.logger);
  // The lost buyer's allowance came back with the stock.
  const again = await buy(saleId, 'lost', 2);
  expect(again.status).toBe(202);
  const oracle = await assertOracle(env, saleId, [patient, again]);
  expect(oracle).toMatchObject({ confirmedUnits: 3, failed: 1 });
});

it('reports drift as a metric and repairs it in both directions', async () => {
  const saleId = await createSale('drift', 10);
  const answers = await buyOnce(buyers, saleId, buyersNamed('d', 3));
  await assertOracle(env, saleId, answers);
  const saleKey = saleKeys(env.config.redis.prefix, saleId).sale;
  const repairsBefore = await metric(sut.metricsPort, 'flashline_reconciler_repairs_total');

  // Units appear from nowhere (an oversell risk)...
  await redis.hincrby(saleKey, 'remaining', 3);
  await waitFor(async () => (await drift(saleId)) === 3, { what: 'drift of +3 reported' });
  await waitFor(async () => (await remaining(saleId)) === 7, { what: 'drift repaired' });
  await waitFor(async () => (await drift(saleId)) === 0, { what: 'no drift after repair' });
  // ...or vanish (stock that could never be sold).
  await redis.hincrby(saleKey, 'remaining', -2);
  await waitFor(async () => (await drift(saleId)) === -2, { what: 'drift of -2 reported' });
  await waitFor(async () => (await remaining(saleId)) === 7, { what: 'drift repaired' });
  expect(await metric(sut.metricsPort, 'flashline_reconciler_repairs_total')).toBe(
    repairsBefore + 2,
  );
  await assertOracle(env, saleId, answers);
});

it('loads an open sale missing from Redis, less what was already sold', async () => {
  const saleId = await createSale('reload', 10);
  const answers = await buyOnce(buyers, saleId, buyersNamed('r', 4));
  await assertOracle(env, saleId, answers);
  // Redis lost the sale (restarted without its data). It exists: 503, never 404.
  await redis.del(saleKeys(env.config.redis.prefix, saleId).sale);
  const early = await buyers.purchase(saleId, 'too-early');
  expect(early.status).toBe(503);
  expect(early.headers.get('retry-after')).toBe('1');

  await waitFor(async () => (await gate.remaining(saleId)) === 6, {
    what: 'sale loaded with 10 - 4 remaining',
  });
  const more = await buyOnce(buyers, saleId, buyersNamed('r2', 8));
  expect(groupByStatus(more)['202']).toHaveLength(6);
  const oracle = await assertOracle(env, saleId, [...answers, ...more]);
  expect(oracle.confirmedUnits).toBe(10);
});

it('repairs nothing while a sale is busy', async () => {
  // A pass every 50 ms, all through the sale: a repair made from a reading taken while
  // orders moved would break the oracle.
  await sut.stop();
  sut = await startTestCompensator(env, {
    reconcile: { ...env.config.reconcile, intervalMs: 50 },
  });
  const saleId = await createSale('busy', 300);
  const answers = await buyOnce(buyers, saleId, buyersNamed('b', 400), 32);
  const oracle = await assertOracle(env, saleId, answers);
  expect(oracle.confirmedUnits).toBe(300);
  await waitFor(async () => (await drift(saleId)) === 0, {
    what: 'a reading of the sale at rest',
  });
  expect(await metric(sut.metricsPort, 'flashline_reconciler_repairs_total')).toBe(0);
});
