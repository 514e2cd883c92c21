import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '../support/env.js';
import { client } from '../support/system.js';
import { settleFast, spawnPipeline } from '../support/failures.js';
import { killAll } from '../support/processes.js';
import { startRedisServer, stopRedisServers } from '../support/redis-servers.js';
import { assertRestBuyable, tally } from '../support/buyers.js';
import { assertNothingLost, runRedisLoss, type RedisLossSale } from '../support/redis-loss.js';

// Redis restarted empty mid-sale, for a sale over shards: the home slot and every shard are
// gone. The sale is loaded back with each shard at its share of the stock, each confirmed
// order takes its unit again on the shard its row names, and the orders still in flight
// re-reserve on the shard their message names (docs/sharded-sales.md, when Redis forgets).
let env: TestEnv | undefined;

afterAll(async () => {
  await killAll();
  await stopRedisServers();
  await env?.cleanup();
});

it('comes back whole: no 202 lost, no unit sold twice, the rest sells out', async () => {
  const redis = await startRedisServer();
  env = await createTestEnv('sharded-redis-loss', { REDIS_URL: redis.url, ...settleFast });
  const sut = await spawnPipeline(env);
  const api = client(sut.baseUrl, env);

  const stock = 300;
  const created = await api.createSale({
    sku: 'sharded-loss',
    name: 'Forgotten shards',
    stock,
    perUserLimit: 2,
    shards: 4,
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  const saleId = created.body.id as number;
  const sale: RedisLossSale = { env, api, worker: sut.worker, saleId, stock, gapMs: 30 };

  const { answers, resumed } = await runRedisLoss(sale, async (buying) => {
    // With the worker behind, orders accepted now exist only in Redis and RabbitMQ.
    await sleep(400);
    const killedAt = Date.now();
    await redis.restartEmpty();
    const forgotten = buying.answers.filter((a) => a.status === 202 && a.answeredAt < killedAt);
    return { backAt: Date.now(), forgotten };
  });
  expect(resumed, `a purchase accepted after the restart (${tally(answers)})`).toBeDefined();

  const first = await assertNothingLost(sale, answers, [202, 409, 503]);
  const left = stock - first.confirmedUnits;
  expect((await api.sale(saleId)).body.remaining, 'GET /sales remaining').toBe(left);
  await assertRestBuyable(sale, answers, first.confirmedUnits);
});
