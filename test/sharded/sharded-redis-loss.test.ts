import { setTimeout as sleep } from 'node:timers/promises';
import { expect, it } from 'vitest';
import { faultScenario, lossSale } from '../support/fault-scenario.js';
import { startRedisServer } from '../support/redis-servers.js';
import { assertRestBuyable, tally } from '../support/buyers.js';
import { assertNothingLost, runRedisLoss } from '../support/redis-loss.js';

// Redis restarted empty mid-sale, for a sale over shards: the home slot and every shard are
// gone. The sale is loaded back with each shard at its share of the stock, each confirmed
// order takes its unit again on the shard its row names, and the orders still in flight
// re-reserve on the shard their message names (docs/sharded-sales.md, when Redis forgets).
const scenario = faultScenario();

it('comes back whole: no 202 lost, no unit sold twice, the rest sells out', async () => {
  const redis = await startRedisServer();
  const opened = await scenario.onRedis('sharded-redis-loss', redis.url);
  const { api } = opened;
  const stock = 300;
  const shape = { shards: 4, gapMs: 30 };
  const sale = await lossSale(opened, ['sharded-loss', 'Forgotten shards'], stock, shape);
  const { saleId } = sale;

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
