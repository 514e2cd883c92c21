import { afterAll, describe, expect, it } from 'vitest';
import { createTestEnv, waitFor, type TestEnv } from '../support/env.js';
import { client, groupByStatus, pool } from '../support/system.js';
import { assertOracle, type Answer } from '../support/oracle.js';
import {
  buyersNamed,
  buyOnce,
  readyWithin,
  settleFast,
  spawnPipeline,
} from '../support/failures.js';
import { killAll, spawnProcess } from '../support/processes.js';
import { freePort } from '../support/api-process.js';
import { stopRedisServers } from '../support/redis-servers.js';
import { startRedisCluster } from '../support/redis-cluster.js';
import { saleKeys, shardKeys } from '../../src/gate/keys.js';
import { createRedis } from '../../src/redis/connection.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// A sale over three shards on three masters. The master of one shard (not the sale's home) is
// paused, so purchases that start on that shard hold their allowance and a pending reservation
// at home and wait for the unit; the API is then killed -9 with them in hand, between the
// steps of a cross-shard purchase. After the master resumes and a new API starts, the
// reconciler must settle every one, and the sale sells out exactly.
describe('the API killed -9 between the steps of a purchase over shards', () => {
  let env: TestEnv | undefined;

  afterAll(async () => {
    await killAll();
    await stopRedisServers();
    await env?.cleanup();
  });

  it('leaves no unit or allowance stranded', async () => {
    const cluster = await startRedisCluster(3);
    env = await createTestEnv('sharded-api-kill', {
      REDIS_CLUSTER_NODES: cluster.nodes,
      REDIS_URL: 'redis://127.0.0.1:1/0',
      ...settleFast,
      RECONCILE_STALE_AFTER_MS: '2000',
    });
    const sut = await spawnPipeline(env);
    const api = client(sut.baseUrl, env);
    const redis = createRedis(env.config);
    try {
      const shards = 3;
      const stock = 150;
      const created = await api.createSale({
        sku: 'sharded-kill',
        name: 'Killed mid-purchase',
        stock,
        perUserLimit: 2,
        shards,
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const saleId = created.body.id as number;
      const prefix = env.config.redisPrefix;
      const home = await cluster.masterOf(saleKeys(prefix, saleId).sale);
      const masters = await Promise.all(
        Array.from({ length: shards }, (_, s) =>
          cluster.masterOf(shardKeys(prefix, saleId, s, shards).units),
        ),
      );
      expect(new Set(masters.map((m) => m.port)).size, 'one shard per master').toBe(shards);
      const victimShard = masters.findIndex((m) => m.port !== home.port);
      const victim = masters[victimShard]!;

      const before = await buyOnce(api, saleId, buyersNamed('before', 30), 8);
      expect(groupByStatus(before)['202']).toHaveLength(30);

      victim.pause();
      const inHand: Promise<unknown>[] = [];
      try {
        // Unanswered purchases: about a third start on the paused shard and wait there.
        for (let i = 0; i < 45; i++) {
          inHand.push(api.purchase(saleId, `in-hand-${i}`).catch(() => undefined));
        }
        await waitFor(
          async () => {
            const ids = await redis.zrange(saleKeys(prefix, saleId).inflight, 0, -1);
            const named = await Promise.all(
              ids.map((id) => redis.hmget(saleKeys(prefix, saleId).reservation(id), 's', 'k')),
            );
            return named.filter(([s, k]) => s === 'P' && Number(k) === victimShard).length >= 3;
          },
          { timeoutMs: 10_000, what: 'purchases waiting on the paused shard' },
        );
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
      await waitFor(async () => (await redis.zcard(saleKeys(prefix, saleId).inflight)) === 0, {
        timeoutMs: 30_000,
        what: 'the dead purchases settled',
      });
      await assertOracle(env, saleId, before);

      const rest = await pool(
        Array.from({ length: 160 }, (_, i) => async (): Promise<Answer> => {
          const buyer = `after-${i}`;
          const answer = await api2.purchase(saleId, buyer);
          return { status: answer.status, orderId: answer.body?.orderId, buyer, quantity: 1 };
        }),
        32,
      );
      const oracle = await assertOracle(env, saleId, [...before, ...rest], { timeoutMs: 30_000 });
      expect(oracle.confirmedUnits, 'sold out exactly').toBe(stock);
      expect((await api2.sale(saleId)).body).toMatchObject({ remaining: 0, soldOut: true });
    } finally {
      redis.disconnect();
      await sleep(0);
    }
  });
});
