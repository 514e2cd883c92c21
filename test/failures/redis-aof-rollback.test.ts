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
import {
  readAof,
  startRedisServer,
  stopRedisServers,
  type RedisServer,
} from '../support/redis-servers.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Redis crashes and comes back from its files as they stood a second earlier
// (`appendfsync everysec` on a host crash): every write of that second is gone, while
// RabbitMQ and PostgreSQL remember everything.
describe('Redis restarted from an AOF one second old, mid-sale', () => {
  let env: TestEnv | undefined;
  let redis: RedisServer;

  afterAll(async () => {
    await killAll();
    await stopRedisServers();
    await env?.cleanup();
  });

  it('loses no 202, oversells nothing, buys once per key, and sells the rest again', async () => {
    redis = await startRedisServer();
    env = await createTestEnv('redis-aof-rollback', { REDIS_URL: redis.url, ...settleFast });
    const sut = await spawnPipeline(env);
    const api = client(sut.baseUrl, env);
    const stock = 400;
    const sale = await api.createSale({
      sku: 'redis-aof-rollback',
      name: 'Rewound',
      stock,
      perUserLimit: 2,
    });
    expect(sale.status, JSON.stringify(sale.body)).toBe(201);
    const saleId = sale.body.id as number;

    const buying = keepBuying(api, saleId, pressOf, { lanes: 4, gapMs: 40 });
    let copiedAt = 0;
    let killedAt = 0;
    let backAt = 0;
    try {
      await waitFor(async () => buying.accepted() >= 60, {
        what: () => `the sale under way (${buying.tally()})`,
      });
      // A worker that falls behind (a pause, a slow disk): the orders of the lost second then
      // exist only as a reservation and a job in Redis, the bridge having acked their messages.
      sut.worker.kill('SIGSTOP');
      const copy = await redis.copyAof();
      copiedAt = Date.now();
      await sleep(1000);
      await waitFor(async () => buying.accepted(copiedAt) >= 20, {
        what: () => `purchases accepted after the copy (${buying.tally()})`,
      });
      await redis.kill9();
      killedAt = Date.now();
      // The copy really is older than those 202s: none of their orders is in it.
      const copied = await readAof(copy);
      const before = new Set(
        buying.answers.filter((a) => a.sentAt <= copiedAt).map((a) => a.orderId),
      );
      const after = buying.answers.filter(
        (a) => a.status === 202 && a.sentAt > copiedAt && !before.has(a.orderId),
      );
      expect(after.length, 'orders accepted after the copy').toBeGreaterThan(0);
      expect(
        after.filter((a) => copied.includes(a.orderId!)).map((a) => a.orderId),
        'orders accepted after the copy are absent from it',
      ).toEqual([]);
      await redis.restoreAof(copy);
      await redis.restart();
      backAt = Date.now();
      sut.worker.kill('SIGCONT');

      // Buyers whose first answer (a 202) Redis has now forgotten press again with their key.
      const forgotten = buying.answers.filter(
        (a) =>
          a.status === 202 &&
          a.idempotencyKey !== undefined &&
          a.sentAt > copiedAt &&
          a.answeredAt < killedAt,
      );
      expect(forgotten.length, 'keyed 202s given after the copy').toBeGreaterThan(0);
      await waitFor(async () => buying.answers.some((a) => a.sentAt > backAt && a.status !== 503), {
        timeoutMs: 10_000,
        what: () => `an answer other than 503 after the restart (${buying.tally()})`,
      }).catch(() => undefined);
      for (const a of forgotten) {
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
    console.log(
      `aof rollback: ${buying.tally()}; 202s after the copy: ${buying.accepted(copiedAt)}, ` +
        `after the restart: ${buying.accepted(backAt)}, Redis down ${backAt - killedAt} ms`,
    );

    const statuses = Object.keys(groupByStatus(answers)).map(Number);
    expect(
      statuses.every((s) => [202, 409, 429, 503].includes(s)),
      `purchases answered ${buying.tally()}`,
    ).toBe(true);
    const first = await assertOracle(env, saleId, answers, { timeoutMs: 30_000 });
    await assertOneOrderPerKey(env, saleId, answers);

    // The units not sold are buyable again, to the last one.
    const left = stock - first.confirmedUnits;
    const fresh = await buyOnce(api, saleId, buyersNamed('fresh', left + 10), 16);
    const freshByStatus = groupByStatus(fresh);
    expect(freshByStatus['202']?.length ?? 0, 'fresh buyers get every unit left').toBe(left);
    expect(freshByStatus['409']?.length ?? 0, 'then the sale is sold out').toBe(10);
    const oracle = await assertOracle(env, saleId, [...answers, ...fresh], { timeoutMs: 30_000 });
    expect(oracle.confirmedUnits, 'sold out exactly').toBe(stock);
  });
});
