import { afterAll, beforeAll, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { rejectOrderPublishes } from '../support/env.js';
import { useSystem } from '../support/use-system.js';
import { assertOracle, type Answer } from '../support/oracle.js';
import { saleKeys } from '../../src/gate/keys.js';

// DESIGN.md, "publish not confirmed": the broker refuses the order, the API releases the
// reservation and answers 503, and nothing stays reserved.
// a publish the broker refuses
const system = useSystem('pubfail');
let redis: Redis;

beforeAll(() => {
  redis = new Redis(system.env.config.redis.url);
});
afterAll(() => redis?.disconnect());

it('answers 503, returns the units and forgets the Idempotency-Key', async () => {
  const saleId = (
    await system.api.createSale({ sku: 'pubfail', name: 'Refused', stock: 3, perUserLimit: 2 })
  ).body.id as number;
  const keys = saleKeys(system.env.config.redis.prefix, saleId);
  const answers: Answer[] = [];

  const acceptPublishes = await rejectOrderPublishes(system.env);
  try {
    const refused = await Promise.all(
      ['a', 'b', 'c'].map((buyer) =>
        system.api.purchase(saleId, buyer, { quantity: 1 }, { 'idempotency-key': `k-${buyer}` }),
      ),
    );
    for (const answer of refused) {
      expect(answer.status).toBe(503);
      expect(answer.body.error.code).toBe('UNAVAILABLE');
    }
    expect(Number(await redis.hget(keys.sale, 'remaining'))).toBe(3);
    expect(await redis.hlen(keys.held)).toBe(0);
    expect(await redis.zcard(keys.inflight)).toBe(0);
    answers.push(...['a', 'b', 'c'].map((buyer) => ({ status: 503, buyer, quantity: 1 })));
  } finally {
    await acceptPublishes();
  }

  // The same key again is a new request, not a replay of an order that never was.
  const retried = await system.api.purchase(
    saleId,
    'a',
    { quantity: 2 },
    { 'idempotency-key': 'k-a' },
  );
  expect(retried.status).toBe(202);
  answers.push({ status: 202, orderId: retried.body.orderId, buyer: 'a', quantity: 2 });
  const other = await system.api.purchase(saleId, 'b', { quantity: 1 });
  expect(other.status).toBe(202);
  answers.push({ status: 202, orderId: other.body.orderId, buyer: 'b', quantity: 1 });

  const result = await assertOracle(system.env, saleId, answers);
  expect(result.confirmedUnits).toBe(3);
});

it('gives a same-key replay that raced a refused publish a durable failed order', async () => {
  const saleId = (await system.api.createSale({ sku: 'pubfail-race', name: 'Race', stock: 3 })).body
    .id as number;
  const acceptPublishes = await rejectOrderPublishes(system.env);
  let racing;
  try {
    racing = await Promise.all(
      Array.from({ length: 10 }, () =>
        system.api.purchase(saleId, 'racer', { quantity: 1 }, { 'idempotency-key': 'same' }),
      ),
    );
  } finally {
    await acceptPublishes();
  }
  const statuses = racing.map((answer) => answer.status);
  expect(statuses.every((status) => status === 202 || status === 503)).toBe(true);
  const replayed = racing.filter((answer) => answer.status === 202);
  // Only replays can be 202 while every publish is refused.
  expect(
    replayed.length,
    'a replay answered while the first request waited for the broker',
  ).toBeGreaterThan(0);
  for (const answer of replayed) {
    const order = await system.api.order(answer.body.orderId as string, 'racer');
    expect(order.body).toMatchObject({ status: 'failed', reason: 'publish_failed' });
  }
  const answers: Answer[] = racing.map((answer) => ({
    status: answer.status,
    orderId: answer.body.orderId as string | undefined,
    buyer: 'racer',
    quantity: 1,
  }));
  await assertOracle(system.env, saleId, answers);
  expect(
    Number(await redis.hget(saleKeys(system.env.config.redis.prefix, saleId).sale, 'remaining')),
  ).toBe(3);
});
