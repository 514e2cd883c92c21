import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitFor, type TestEnv } from '../support/env.js';
import {
  groupByStatus,
  pool,
  type Client,
  type System,
  openSystem,
  closeSystem,
} from '../support/system.js';
import { assertOracle, type Answer } from '../support/oracle.js';
import { createRedis, type RedisClient } from '../../src/redis/connection.js';
import { shardKeys } from '../../src/gate/keys.js';
import { createdSale } from '../support/fault-scenario.js';

// One sale over several shards (docs/sharded-sales.md), through the whole pipeline. Runs on
// one Redis, and on the CI's local cluster (TEST_REDIS_CLUSTER_NODES), where the shards
// land on different masters.
// a sale over shards
let env: TestEnv;
let sut: System;
let api: Client;
let redis: RedisClient;

beforeAll(async () => {
  ({ env, sut, api } = await openSystem('sharded'));
  redis = createRedis(env.config);
});
afterAll(async () => {
  redis?.disconnect();
  await closeSystem(sut, env);
});

const press = async (saleId: number, buyer: string, quantity = 1): Promise<Answer> => {
  const answer = await api.purchase(saleId, buyer, { quantity });
  return { status: answer.status, orderId: answer.body?.orderId, buyer, quantity };
};

it('shows its shards and refuses a count out of range, creating nothing', async () => {
  const created = await api.createSale({ sku: 'sh-view', name: 'view', stock: 10, shards: 4 });
  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({ shards: 4, remaining: 10, soldOut: false });
  const read = await api.sale(created.body.id as number);
  expect(read.body).toMatchObject({ shards: 4, stock: 10, remaining: 10 });
  for (const shards of [0, 65, 2.5, '4']) {
    const refused = await api.createSale({
      sku: `sh-bad-${shards}`,
      name: 'x',
      stock: 10,
      shards,
    });
    expect(refused.status, `shards ${shards}`).toBe(400);
    expect(refused.body.error.code).toBe('BAD_REQUEST');
  }
  const plain = await api.createSale({ sku: 'sh-plain', name: 'plain', stock: 3 });
  expect(plain.body.shards).toBe(1);
});

it('sells exactly its stock over 4 shards, no buyer above 2, each pressing 4 times at once', async () => {
  const fields = { sku: 'sh-contended', name: 'contended', stock: 101, perUserLimit: 2 };
  const saleId = await createdSale(api, { ...fields, shards: 4 });
  // 80 buyers x 4 presses of one unit: 320 asked for 101 units, 160 allowed by the limit.
  const tasks = Array.from({ length: 80 }, (_, i) => `buyer-${i}`).flatMap((buyer) =>
    [0, 1, 2, 3].map(() => () => press(saleId, buyer)),
  );
  const answers = await pool(tasks, 96);
  const byStatus = groupByStatus(answers);
  expect(Object.keys(byStatus).sort()).toEqual(['202', '409']);
  expect(byStatus['202']).toHaveLength(101);
  const perBuyer = new Map<string, number>();
  for (const a of byStatus['202']!) perBuyer.set(a.buyer, (perBuyer.get(a.buyer) ?? 0) + 1);
  expect(Math.max(...perBuyer.values())).toBeLessThanOrEqual(2);

  const result = await assertOracle(env, saleId, answers);
  expect(result.confirmedUnits).toBe(101);
  const sale = await api.sale(saleId);
  expect(sale.body).toMatchObject({ remaining: 0, soldOut: true, shards: 4 });
});

it('sells the last units scattered one per shard before anyone is told SOLD_OUT', async () => {
  const shards = 8;
  const scattered = { sku: 'sh-scattered', name: 'scattered', stock: shards };
  const saleId = await createdSale(api, { ...scattered, shards });
  // One unit on each shard. One buyer at a time: whichever shard a purchase starts on, it
  // must find the units left on the others.
  const answers: Answer[] = [];
  for (let i = 0; i < shards; i++) {
    const answer = await press(saleId, `one-by-one-${i}`);
    answers.push(answer);
    expect(answer.status, `purchase ${i + 1} of ${shards} units`).toBe(202);
  }
  const late = await press(saleId, 'late');
  answers.push(late);
  expect(late.status).toBe(409);

  const result = await assertOracle(env, saleId, answers);
  expect(result.confirmedUnits).toBe(shards);
  const sale = await api.sale(saleId);
  expect(sale.body).toMatchObject({ remaining: 0, soldOut: true });
  // The sold-out cache learnt it from the shards' own events: every shard said empty.
  const perShard = await Promise.all(
    Array.from({ length: shards }, (_, shard) =>
      redis.hget(shardKeys(env.config.redis.prefix, saleId, shard, shards).units, 'remaining'),
    ),
  );
  expect(perShard.map(Number)).toEqual(Array(shards).fill(0));
  // ...and so the front door answers SOLD_OUT before the credentials and the body.
  await waitFor(
    async () => {
      const anonymous = await fetch(`${sut.baseUrl}/sales/${saleId}/purchase`, {
        method: 'POST',
        body: 'not json',
      });
      const body = (await anonymous.json()) as { error?: { code?: string } };
      return anonymous.status === 409 && body.error?.code === 'SOLD_OUT';
    },
    { timeoutMs: 5_000, what: 'the sold-out cache to know every shard is empty' },
  );
});

it('sells one unit per shard to a crowd at once, and no more', async () => {
  const shards = 6;
  const created = await api.createSale({ sku: 'sh-crowd', name: 'crowd', stock: shards, shards });
  const saleId = created.body.id as number;
  const answers = await pool(
    Array.from({ length: 150 }, (_, i) => () => press(saleId, `crowd-${i}`)),
    150,
  );
  const byStatus = groupByStatus(answers);
  expect(byStatus['202']).toHaveLength(shards);
  expect(byStatus['409']).toHaveLength(150 - shards);
  await assertOracle(env, saleId, answers);
});
