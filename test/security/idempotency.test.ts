import { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestEnv, waitFor, type TestEnv } from '../support/env.js';
import { client, pool, startSystem, type Client, type System } from '../support/system.js';
import { assertOracle, type Answer } from '../support/oracle.js';
import { expectError } from '../support/contract.js';
import { startTestCompensator } from '../support/failures.js';
import { saleKeys } from '../../src/gate/keys.js';

const idempotencyTtlSeconds = 600;

// Idempotency-Key
let env: TestEnv;
let sut: System;
let api: Client;

beforeAll(async () => {
  env = await createTestEnv('idempotency', {
    IDEMPOTENCY_TTL_SECONDS: String(idempotencyTtlSeconds),
  });
  sut = await startSystem(env);
  api = client(sut.baseUrl, env);
});
afterAll(async () => {
  await sut?.stop();
  await env?.cleanup();
});

// perUserLimit above 1, so that without the key every repeat would reserve again.
const newSale = async (sku: string, extra: Record<string, unknown> = {}) => {
  const created = await api.createSale({ sku, name: sku, stock: 100, perUserLimit: 5, ...extra });
  expect(created.status).toBe(201);
  return created.body.id as number;
};

const buy = async (saleId: number, buyer: string, key?: string): Promise<Answer> => {
  const answer = await api.purchase(
    saleId,
    buyer,
    { quantity: 1 },
    key ? { 'idempotency-key': key } : {},
  );
  return { status: answer.status, orderId: answer.body?.orderId, buyer, quantity: 1 };
};

it('a repeat by the same buyer returns the same order and reserves once', async () => {
  const saleId = await newSale('idem-repeat');
  const first = await buy(saleId, 'alice', 'order-1');
  const second = await buy(saleId, 'alice', 'order-1');
  expect([first.status, second.status]).toEqual([202, 202]);
  expect(second.orderId).toBe(first.orderId);
  expect((await api.sale(saleId)).body.remaining).toBe(99);
  // Without a key, the same request is another order.
  const third = await buy(saleId, 'alice');
  expect(third.orderId).not.toBe(first.orderId);
  await assertOracle(env, saleId, [first, third]);
});

it('a key Redis forgot cannot buy twice: PostgreSQL refuses the second order', async () => {
  const compensator = await startTestCompensator(env);
  try {
    const saleId = await newSale('idem-forgotten');
    const first = await buy(saleId, 'carol', 'once');
    await assertOracle(env, saleId, [first]);
    // Redis forgets the key (restarted from older files, a failover to a lagging replica).
    const redis = new Redis(env.config.redis.url);
    await redis.del(saleKeys(env.config.redis.prefix, saleId).idempotency('carol', 'once'));
    redis.disconnect();

    const second = await buy(saleId, 'carol', 'once');
    expect(second.status).toBe(202);
    expect(second.orderId).not.toBe(first.orderId);
    const oracle = await assertOracle(env, saleId, [first, second]);
    expect(oracle).toMatchObject({ confirmed: 1, failed: 1 });
    const refused = await api.order(second.orderId!, 'carol');
    expect(refused.body).toMatchObject({ status: 'failed', reason: 'idempotency_key_used' });
    expect((await api.sale(saleId)).body.remaining).toBe(99);
  } finally {
    await compensator.stop();
  }
});

it('20 racing requests with one key get exactly one order, reserved once', async () => {
  const saleId = await newSale('idem-race');
  const answers = await pool(
    Array.from({ length: 20 }, () => () => buy(saleId, 'racer', 'same-key')),
    20,
  );
  expect(answers.map((a) => a.status)).toEqual(Array(20).fill(202));
  const orderIds = new Set(answers.map((a) => a.orderId));
  expect(orderIds.size).toBe(1);
  expect((await api.sale(saleId)).body.remaining).toBe(99);
  const result = await assertOracle(env, saleId, [answers[0]!]);
  expect(result.confirmed).toBe(1);
});

it('is stored with the reservation, holding the order id, with the configured TTL', async () => {
  const saleId = await newSale('idem-ttl');
  const answer = await buy(saleId, 'ttl-buyer', 'ttl-key');
  const redis = new Redis(env.config.redis.url);
  try {
    const key = saleKeys(env.config.redis.prefix, saleId).idempotency('ttl-buyer', 'ttl-key');
    expect(await redis.get(key)).toBe(answer.orderId);
    const ttl = await redis.ttl(key);
    expect(ttl).toBeGreaterThan(idempotencyTtlSeconds - 60);
    expect(ttl).toBeLessThanOrEqual(idempotencyTtlSeconds);
  } finally {
    redis.disconnect();
  }
  await assertOracle(env, saleId, [answer]);
});

it('the same key from another buyer, or on another sale, is another order', async () => {
  const saleId = await newSale('idem-buyers');
  const otherSaleId = await newSale('idem-buyers-2');
  const alice = await buy(saleId, 'alice', 'shared-key');
  const bob = await buy(saleId, 'bob', 'shared-key');
  const aliceElsewhere = await buy(otherSaleId, 'alice', 'shared-key');
  expect([alice.status, bob.status, aliceElsewhere.status]).toEqual([202, 202, 202]);
  expect(new Set([alice.orderId, bob.orderId, aliceElsewhere.orderId]).size).toBe(3);
  // Buyer ids that would collide if the key were a plain concatenation stay apart.
  const a = await buy(saleId, 'x:y', 'z');
  const b = await buy(saleId, 'x', 'y:z');
  expect(a.orderId).not.toBe(b.orderId);
  await assertOracle(env, saleId, [alice, bob, a, b]);
  await assertOracle(env, otherSaleId, [aliceElsewhere]);
});

it('a repeat after the sale ended still returns the first order', async () => {
  const saleId = await newSale('idem-window', { endsAt: new Date(Date.now() + 2_000) });
  const first = await buy(saleId, 'late', 'before-the-end');
  expect(first.status).toBe(202);
  // Over the limit, so the probe is refused (400) until the window closes (403).
  const probe = () => api.purchase(saleId, 'late', { quantity: 6 });
  await waitFor(async () => (await probe()).status === 403, { what: 'the sale to end' });
  const repeat = await buy(saleId, 'late', 'before-the-end');
  expect(repeat).toEqual(first);
  expectError(
    await api.purchase(saleId, 'late', { quantity: 1 }, { 'idempotency-key': 'new-key' }),
    403,
    'SALE_ENDED',
  );
  await assertOracle(env, saleId, [first]);
});

it('a 503 leaves no order behind the key: the retry gets a new order', async () => {
  const saleId = await newSale('idem-503');
  await sut.api.deps.broker.close();
  const refused = await buy(saleId, 'retrier', 'retry-key');
  expect(refused.status).toBe(503);
  await sut.api.deps.broker.start();
  const retried = await buy(saleId, 'retrier', 'retry-key');
  expect(retried.status).toBe(202);
  expect((await buy(saleId, 'retrier', 'retry-key')).orderId).toBe(retried.orderId);
  const result = await assertOracle(env, saleId, [refused, retried]);
  expect(result.confirmedUnits).toBe(1);
});
