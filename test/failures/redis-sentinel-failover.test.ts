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
import { startSentinelSet, stopRedisServers } from '../support/redis-servers.js';
import { saleKeys } from '../../src/gate/keys.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// A primary, a replica and three sentinels of the test's own. Mid-sale the replica falls
// behind (stopped, its link cut), the primary dies with writes the replica never got, and
// the sentinels promote the replica: Redis forgets that second, as a failover to a lagging
// replica does.
describe('Redis Sentinel failover to a lagging replica, mid-sale', () => {
  let env: TestEnv | undefined;

  afterAll(async () => {
    await killAll();
    await stopRedisServers();
    await env?.cleanup();
  });

  it('follows the new primary, loses no 202 and buys once per key', async () => {
    // Each sentinel knows the replica and the two others: a failover can be voted and done.
    const { primary, replica, name, sentinels } = await startSentinelSet();

    env = await createTestEnv('redis-sentinel', {
      // Nothing listens on port 1: a process that ignored Sentinel would find no Redis.
      REDIS_URL: 'redis://127.0.0.1:1/0',
      REDIS_SENTINELS: sentinels.addresses,
      REDIS_SENTINEL_NAME: name,
      ...settleFast,
    });
    const sut = await spawnPipeline(env);
    const api = client(sut.baseUrl, env);
    const stock = 400;
    const sale = await api.createSale({
      sku: 'redis-sentinel',
      name: 'Failed over',
      stock,
      perUserLimit: 2,
    });
    expect(sale.status, JSON.stringify(sale.body)).toBe(201);
    const saleId = sale.body.id as number;
    const keys = saleKeys(env.config.redis.prefix, saleId);

    const buying = keepBuying(api, saleId, pressOf, { lanes: 4, gapMs: 40 });
    let cutAt = 0;
    let killedAt = 0;
    let promotedAt = 0;
    try {
      await waitFor(async () => buying.accepted() >= 60, {
        what: () => `the sale under way (${buying.tally()})`,
      });
      // A worker that falls behind: orders accepted from now on exist only in Redis (and
      // RabbitMQ), and the replica gets none of them.
      sut.worker.kill('SIGSTOP');
      replica.pause();
      await primary.cli('CLIENT', 'KILL', 'TYPE', 'replica');
      cutAt = Date.now();
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
      const onReplica = await Promise.all(
        lagged.map(async (a) => Number(await replica.cli('EXISTS', keys.reservation(a.orderId!)))),
      );
      expect(
        onReplica.filter((exists) => exists > 0).length,
        'the replica never got those reservations',
      ).toBe(0);

      await waitFor(async () => (await sentinels.primaryPort()) === replica.port, {
        timeoutMs: 30_000,
        intervalMs: 100,
        what: 'the sentinels to promote the replica',
      });
      await waitFor(async () => (await replica.cli('ROLE')).startsWith('master'), {
        what: 'the replica to act as primary',
      });
      promotedAt = Date.now();
      sut.worker.kill('SIGCONT');

      await waitFor(async () => buying.accepted(promotedAt) > 0, {
        timeoutMs: 15_000,
        what: 'a purchase accepted after the promotion',
      }).catch(() => undefined);
      // Buyers whose keyed 202 the new primary never had press again with the same key.
      for (const a of lagged.filter((x) => x.idempotencyKey !== undefined)) {
        await buying.press({
          buyer: a.buyer,
          quantity: a.quantity,
          idempotencyKey: a.idempotencyKey!,
        });
      }
      await sleep(1000);
    } finally {
      sut.worker.kill('SIGCONT');
      await buying.stop();
    }
    const answers = buying.answers;
    const resumed = answers
      .filter((a) => a.status === 202 && a.sentAt >= promotedAt)
      .map((a) => a.answeredAt - promotedAt)
      .sort((a, b) => a - b)[0];
    console.log(
      `sentinel failover: ${buying.tally()}; promoted ${promotedAt - killedAt} ms after the kill; ` +
        `first 202 ${resumed ?? 'never'} ms after the promotion`,
    );

    expect(resumed, `selling resumed after the promotion (${buying.tally()})`).toBeDefined();
    const statuses = Object.keys(groupByStatus(answers)).map(Number);
    expect(
      statuses.every((s) => [202, 409, 429, 503].includes(s)),
      `purchases answered ${buying.tally()}`,
    ).toBe(true);
    const onPrimary = { timeoutMs: 30_000, redisUrl: replica.url };
    const first = await assertOracle(env, saleId, answers, onPrimary).catch((error: unknown) => {
      process.stderr.write(
        `WORKER\n${sut.worker.output()}\nBRIDGE\n${sut.bridge.output()}\nCOMP\n${sut.compensator.output()}\n`,
      );
      throw error;
    });
    await assertOneOrderPerKey(env, saleId, answers);

    // The units not sold are buyable again, to the last one.
    const left = stock - first.confirmedUnits;
    const fresh = await buyOnce(api, saleId, buyersNamed('fresh', left + 10), 16);
    const freshByStatus = groupByStatus(fresh);
    expect(freshByStatus['202']?.length ?? 0, 'fresh buyers get every unit left').toBe(left);
    expect(freshByStatus['409']?.length ?? 0, 'then the sale is sold out').toBe(10);
    const oracle = await assertOracle(env, saleId, [...answers, ...fresh], onPrimary);
    expect(oracle.confirmedUnits, 'sold out exactly').toBe(stock);
  });
});
