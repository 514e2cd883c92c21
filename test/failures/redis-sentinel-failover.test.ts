import { setTimeout as sleep } from 'node:timers/promises';
import { expect, it } from 'vitest';
import { waitFor } from '../support/env.js';
import { settleFast } from '../support/failures.js';
import { faultScenario, lossSale } from '../support/fault-scenario.js';
import { startSentinelSet, type RedisServer, type Sentinels } from '../support/redis-servers.js';
import { assertRestBuyable, tally } from '../support/buyers.js';
import { assertNothingLost, runRedisLoss } from '../support/redis-loss.js';
import { saleKeys } from '../../src/gate/keys.js';

// A primary, a replica and three sentinels of the test's own. Mid-sale the replica falls
// behind (stopped, its link cut), the primary dies with writes the replica never got, and
// the sentinels promote the replica: Redis forgets that second, as a failover to a lagging
// replica does.
const scenario = faultScenario();

it('follows the new primary, loses no 202 and buys once per key', async () => {
  // Each sentinel knows the replica and the two others: a failover can be voted and done.
  const { primary, replica, name, sentinels } = await startSentinelSet();

  const opened = await scenario.open('redis-sentinel', {
    // Nothing listens on port 1: a process that ignored Sentinel would find no Redis.
    REDIS_URL: 'redis://127.0.0.1:1/0',
    REDIS_SENTINELS: sentinels.addresses,
    REDIS_SENTINEL_NAME: name,
    ...settleFast,
  });
  const { env, sut } = opened;
  const oracle = { redisUrl: replica.url };
  const sale = await lossSale(opened, ['redis-sentinel', 'Failed over'], 400, { oracle });
  const keys = saleKeys(env.config.redis.prefix, sale.saleId);

  let killedAt = 0;
  const { answers, backAt, resumed } = await runRedisLoss(sale, async (buying) => {
    // With the worker behind, orders accepted from now on exist only in Redis (and
    // RabbitMQ), and the replica gets none of them.
    replica.pause();
    await primary.cli('CLIENT', 'KILL', 'TYPE', 'replica');
    const cutAt = Date.now();
    await sleep(1000);
    await waitFor(async () => buying.accepted(cutAt) >= 20, {
      what: () => `purchases accepted after the replica fell behind (${buying.tally()})`,
    });
    await primary.kill9();
    killedAt = Date.now();
    replica.resume();

    // The replica really lacks those 202s: their reservations are not on it.
    const before = new Set(buying.answers.filter((a) => a.sentAt <= cutAt).map((a) => a.orderId));
    const lagged = buying.answers.filter(
      (a) =>
        a.status === 202 && a.sentAt > cutAt && a.answeredAt < killedAt && !before.has(a.orderId),
    );
    expect(lagged.length, 'orders accepted after the replica fell behind').toBeGreaterThan(0);
    expect(
      await reservationsOn(
        replica,
        lagged.map((a) => keys.reservation(a.orderId!)),
      ),
      'the replica never got those reservations',
    ).toBe(0);

    await promoted(sentinels, replica);
    // Buyers whose keyed 202 the new primary never had press again with the same key.
    return { backAt: Date.now(), forgotten: lagged };
  });
  console.log(
    `sentinel failover: ${tally(answers)}; promoted ${backAt - killedAt} ms after the kill; ` +
      `first 202 ${resumed ?? 'never'} ms after the promotion`,
  );

  expect(resumed, `selling resumed after the promotion (${tally(answers)})`).toBeDefined();
  const first = await assertNothingLost(sale, answers).catch((error: unknown) => {
    process.stderr.write(
      `WORKER\n${sut.worker.output()}\nBRIDGE\n${sut.bridge.output()}\nCOMP\n${sut.compensator.output()}\n`,
    );
    throw error;
  });
  await assertRestBuyable(sale, answers, first.confirmedUnits);
});

async function reservationsOn(redis: RedisServer, keys: string[]): Promise<number> {
  const exists = await Promise.all(keys.map(async (key) => Number(await redis.cli('EXISTS', key))));
  return exists.filter((n) => n > 0).length;
}

async function promoted(sentinels: Sentinels, replica: RedisServer) {
  await waitFor(async () => (await sentinels.primaryPort()) === replica.port, {
    timeoutMs: 30_000,
    intervalMs: 100,
    what: 'the sentinels to promote the replica',
  });
  await waitFor(async () => (await replica.cli('ROLE')).startsWith('master'), {
    what: 'the replica to act as primary',
  });
}
