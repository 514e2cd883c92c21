import { afterAll, describe, expect, it } from 'vitest';
import { createTestEnv, waitFor, type TestEnv } from '../support/env.js';
import { client, groupByStatus } from '../support/system.js';
import { assertOneOrderPerKey, assertOracle } from '../support/oracle.js';
import {
  buyersNamed,
  buyOnce,
  keepBuying,
  pressOf,
  settleFast,
  spawnPipeline,
} from '../support/failures.js';
import { killAll } from '../support/processes.js';
import { startRedisServer, stopRedisServers } from '../support/redis-servers.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Redis restarted empty mid-sale, for a sale over shards: the home slot and every shard are
// gone. The sale is loaded back with each shard at its share of the stock, each confirmed
// order takes its unit again on the shard its row names, and the orders still in flight
// re-reserve on the shard their message names (docs/sharded-sales.md, when Redis forgets).
describe('a sale over shards when Redis restarts empty', () => {
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

    const buying = keepBuying(api, saleId, pressOf, { lanes: 4, gapMs: 30 });
    let backAt = 0;
    try {
      await waitFor(async () => buying.accepted() >= 60, {
        what: () => `the sale under way (${buying.tally()})`,
      });
      // Orders accepted now exist only in Redis and RabbitMQ when Redis forgets.
      sut.worker.kill('SIGSTOP');
      await sleep(400);
      await redis.restartEmpty();
      backAt = Date.now();
      sut.worker.kill('SIGCONT');
      await waitFor(async () => buying.accepted(backAt) > 0, {
        timeoutMs: 15_000,
        what: 'a purchase accepted after the restart',
      });
      await sleep(500);
    } finally {
      sut.worker.kill('SIGCONT');
      await buying.stop();
    }
    const answers = buying.answers;
    expect(
      Object.keys(groupByStatus(answers))
        .map(Number)
        .filter((s) => ![202, 409, 503].includes(s)),
      `purchases answered ${buying.tally()}`,
    ).toEqual([]);

    const first = await assertOracle(env, saleId, answers, { timeoutMs: 30_000 });
    await assertOneOrderPerKey(env, saleId, answers);
    const left = stock - first.confirmedUnits;
    expect((await api.sale(saleId)).body.remaining, 'GET /sales remaining').toBe(left);

    const fresh = await buyOnce(api, saleId, buyersNamed('fresh', left + 10), 16);
    const freshByStatus = groupByStatus(fresh);
    expect(freshByStatus['202']?.length ?? 0, 'fresh buyers get every unit left').toBe(left);
    const oracle = await assertOracle(env, saleId, [...answers, ...fresh], { timeoutMs: 30_000 });
    expect(oracle.confirmedUnits, 'sold out exactly').toBe(stock);
  });
});
