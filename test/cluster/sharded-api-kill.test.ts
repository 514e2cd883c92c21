import { setTimeout as sleep } from 'node:timers/promises';
import { expect, it } from 'vitest';
import { waitFor } from '../support/env.js';
import { client, groupByStatus } from '../support/system.js';
import { assertOracle } from '../support/oracle.js';
import { readyWithin } from '../support/failures.js';
import { createdSale, faultScenario } from '../support/fault-scenario.js';
import { spawnProcess } from '../support/processes.js';
import { freePort } from '../support/api-process.js';
import { startRedisCluster } from '../support/redis-cluster.js';
import { homeOfBuyer, saleKeys, shardKeys } from '../../src/gate/keys.js';
import { gateHomes } from '../support/shards.js';
import { createRedis, type RedisClient } from '../../src/redis/connection.js';
import { buyersNamed, buyOnce, type SaleUnderTest } from '../support/buyers.js';

// A sale over three shards on three masters. The buyers homed on two of them buy their homes
// empty; then the master of the third shard (not the sale's own slot) is paused, so further
// purchases of those buyers hold their allowance and a pending reservation at their home and
// wait there for a unit from the paused shard; the API is then killed -9 with them in hand,
// between the steps of a cross-shard purchase. After the master resumes and a new API starts, the
// reconciler must settle every one, and the sale sells out exactly.
// the API killed -9 between the steps of a purchase over shards
const scenario = faultScenario();

it('leaves no unit or allowance stranded', async () => {
  const cluster = await startRedisCluster(3);
  const stale = { RECONCILE_STALE_AFTER_MS: '2000' };
  const { env, sut, api } = await scenario.onCluster('sharded-api-kill', cluster.nodes, stale);
  const redis = createRedis(env.config);
  try {
    const shards = 3;
    const stock = 150;
    const fields = { sku: 'sharded-kill', name: 'Killed mid-purchase', stock, perUserLimit: 2 };
    const saleId = await createdSale(api, { ...fields, shards });
    const prefix = env.config.redis.prefix;
    const home = await cluster.masterOf(saleKeys(prefix, saleId).sale);
    const masters = await Promise.all(
      Array.from({ length: shards }, (_, s) =>
        cluster.masterOf(shardKeys(prefix, saleId, s, shards).units),
      ),
    );
    expect(new Set(masters.map((m) => m.port)).size, 'one shard per master').toBe(shards);
    const victimShard = masters.findIndex((m) => m.port !== home.port);
    const victim = masters[victimShard]!;

    const homedElsewhere = (name: string, perHome: number) =>
      homedOnShards(name, perHome, shards, victimShard);
    const sale = { env, api, saleId, stock };
    const before = await sellOtherShards(sale, redis, shards, victimShard);

    victim.pause();
    const inHand: Promise<unknown>[] = [];
    try {
      // Unanswered purchases: their homes are empty, so they wait on the paused shard.
      for (const buyer of homedElsewhere('in-hand', 20)) {
        inHand.push(api.purchase(saleId, buyer).catch(() => undefined));
      }
      await waitingOnPausedShard(redis, prefix, saleId, victimShard);
      sut.api.kill('SIGKILL');
      await sut.api.exited;
    } finally {
      victim.resume();
    }
    await Promise.all(inHand);

    const port = await freePort();
    const again = spawnProcess('api', env, { PORT: String(port) });
    await readyWithin(again);
    const api2 = client(`http://127.0.0.1:${port}`, env);

    // Every reservation the dead API held is settled: nothing in flight, every unit back.
    const homes = await gateHomes(redis, prefix, saleId);
    await waitFor(async () => (await homes.inflight()) === 0, {
      timeoutMs: 30_000,
      what: 'the dead purchases settled',
    });
    await assertOracle(env, saleId, before);

    const rest = await buyOnce(api2, saleId, buyersNamed('after', 160), 32);
    const oracle = await assertOracle(env, saleId, [...before, ...rest], { timeoutMs: 30_000 });
    expect(oracle.confirmedUnits, 'sold out exactly').toBe(stock);
    expect((await api2.sale(saleId)).body).toMatchObject({ remaining: 0, soldOut: true });
  } finally {
    redis.disconnect();
    await sleep(0);
  }
});

// Purchases waiting on the paused shard, at least three. Only the other homes are read: a
// command to the paused master would wait with it.
async function waitingOnPausedShard(
  redis: RedisClient,
  prefix: string,
  saleId: number,
  victimShard: number,
) {
  const homes = await gateHomes(redis, prefix, saleId);
  const awake = homes.homes.filter((_, home) => home !== victimShard);
  await waitFor(
    async () => {
      const ids = (await Promise.all(awake.map((k) => redis.zrange(k.inflight, 0, -1)))).flat();
      const named = await Promise.all(
        ids.map((id) => redis.hmget(homes.reservation(id), 's', 'k')),
      );
      return named.filter(([s, k]) => s === 'P' && Number(k) === victimShard).length >= 3;
    },
    { timeoutMs: 10_000, what: 'purchases waiting on the paused shard' },
  );
}

// `perHome` buyers homed on each shard but the paused one.
function homedOnShards(name: string, perHome: number, shards: number, victimShard: number) {
  return Array.from({ length: shards }, (_, home) => home)
    .filter((home) => home !== victimShard)
    .flatMap((home) =>
      Array.from({ length: perHome * shards * 20 }, (_, i) => `${name}-${i}`)
        .filter((buyer) => homeOfBuyer(buyer, shards) === home)
        .slice(0, perHome),
    );
}

// Buyers homed on the other shards buy exactly those shards' units, each at home.
async function sellOtherShards(
  { env, api, saleId, stock }: SaleUnderTest,
  redis: RedisClient,
  shards: number,
  victimShard: number,
) {
  const prefix = env.config.redis.prefix;
  // `perHome` buyers homed on each shard but the paused one: exactly a shard's units each.
  const otherUnits = stock - stock / shards;
  const before = await buyOnce(
    api,
    saleId,
    homedOnShards('before', stock / shards, shards, victimShard),
    8,
  );
  expect(groupByStatus(before)['202']).toHaveLength(otherUnits);
  const shardRemaining = await Promise.all(
    Array.from({ length: shards }, async (_, s) =>
      Number(await redis.hget(shardKeys(prefix, saleId, s, shards).units, 'remaining')),
    ),
  );
  expect(shardRemaining, 'each buyer bought at home: only the paused shard has units').toEqual(
    shardRemaining.map((_, s) => (s === victimShard ? stock / shards : 0)),
  );
  return before;
}
