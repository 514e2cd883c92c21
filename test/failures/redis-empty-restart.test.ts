import { afterAll, describe, expect, it } from 'vitest';
import pg from 'pg';
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
import { orderQueueNames } from '../../src/queues/names.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Redis is killed and started again without its files, mid-sale: every sale, reservation,
// job, idempotency key, rate bucket and sold-out flag it held is gone, while RabbitMQ and
// PostgreSQL remember everything.
describe('Redis restarted empty, mid-sale', () => {
  let env: TestEnv | undefined;

  afterAll(async () => {
    await killAll();
    await stopRedisServers();
    await env?.cleanup();
  });

  it('reloads every open sale within 5 s, never answers 404, and loses no 202', async () => {
    const redis = await startRedisServer();
    env = await createTestEnv('redis-empty-restart', {
      REDIS_URL: redis.url,
      ...settleFast,
      // Longer than the 5 s deadline: the sale must come back without waiting for a pass.
      RECONCILE_INTERVAL_MS: '10000',
      RATE_LIMIT_CAPACITY: '5',
    });
    const sut = await spawnPipeline(env);
    const api = client(sut.baseUrl, env);
    const db = new pg.Client({ connectionString: env.config.database.url });
    await db.connect();
    try {
      // A second sale, sold out before the loss: it must come back sold out, not missing.
      const small = await api.createSale({ sku: 'redis-empty-small', name: 'Gone', stock: 5 });
      const smallId = small.body.id as number;
      const smallAnswers = await buyOnce(api, smallId, buyersNamed('small', 8), 8);
      expect(groupByStatus(smallAnswers)['202']).toHaveLength(5);
      await assertOracle(env, smallId, smallAnswers);

      // A third sale, open but quiet when Redis forgets: it must come back too.
      const quiet = await api.createSale({ sku: 'redis-empty-quiet', name: 'Quiet', stock: 50 });
      const quietId = quiet.body.id as number;

      const stock = 400;
      const sale = await api.createSale({
        sku: 'redis-empty-restart',
        name: 'Forgotten',
        stock,
        perUserLimit: 2,
      });
      expect(sale.status, JSON.stringify(sale.body)).toBe(201);
      const saleId = sale.body.id as number;

      const buying = keepBuying(api, saleId, pressOf, { lanes: 4, gapMs: 40 });
      let killedAt = 0;
      let backAt = 0;
      try {
        await waitFor(async () => buying.accepted() >= 60, {
          what: () => `the sale under way (${buying.tally()})`,
        });
        // A worker that falls behind: orders accepted now exist only in Redis and RabbitMQ.
        sut.worker.kill('SIGSTOP');
        await sleep(500);
        killedAt = Date.now();
        await redis.restartEmpty();
        // restartEmpty resolves at the first PONG: Redis answers again from here.
        backAt = Date.now();
        sut.worker.kill('SIGCONT');
        await waitFor(async () => buying.accepted(backAt) > 0, {
          timeoutMs: 15_000,
          what: 'a purchase accepted after the restart',
        }).catch(() => undefined);
        // Buyers whose keyed 202 Redis has forgotten press again with the same key.
        const forgotten = buying.answers.filter(
          (a) => a.status === 202 && a.idempotencyKey !== undefined && a.answeredAt < killedAt,
        );
        for (const a of forgotten.slice(-40)) {
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
        .filter((a) => a.status === 202 && a.sentAt >= backAt)
        .map((a) => a.answeredAt - backAt)
        .sort((a, b) => a - b)[0];
      console.log(
        `empty restart: ${buying.tally()}; Redis down ${backAt - killedAt} ms; ` +
          `first 202 ${resumed ?? 'never'} ms after Redis answered PING`,
      );

      expect(
        answers.filter((a) => a.status === 404).length,
        `no purchase of an existing sale answered 404 (${buying.tally()})`,
      ).toBe(0);
      expect(
        answers.filter((a) => a.status === 503 && a.sentAt >= backAt && a.retryAfter === null),
        'a 503 while the sale is reloaded carries Retry-After',
      ).toEqual([]);
      expect(resumed, 'a purchase accepted after Redis answered again').toBeDefined();
      expect(resumed!, 'selling resumed within 5 s of Redis answering').toBeLessThanOrEqual(5000);
      const statuses = Object.keys(groupByStatus(answers)).map(Number);
      expect(
        statuses.every((s) => [202, 409, 429, 503].includes(s)),
        `purchases answered ${buying.tally()}`,
      ).toBe(true);

      // The sold-out sale is sold out again, with or without a key, and not missing.
      const withAndWithoutKey: Record<string, string>[] = [{}, { 'idempotency-key': 'late' }];
      for (const extra of withAndWithoutKey) {
        const late = await api.purchase(smallId, 'small-late', { quantity: 1 }, extra);
        expect([late.status, late.body?.error?.code], 'the sold-out sale after the loss').toEqual([
          409,
          'SOLD_OUT',
        ]);
      }

      // bull-board still shows the order queue.
      const board = await api.raw('GET', '/admin/queues/api/queues', {
        authorization: `Bearer ${env.config.auth.adminToken}`,
      });
      expect(board.status, JSON.stringify(board.body)).toBe(200);
      expect(
        (board.body.queues as { name: string }[]).map((q) => q.name),
        'bull-board lists the order queue',
      ).toContain(orderQueueNames(env.config)[0]!);

      // The quiet sale is buyable once it is loaded back (5 s at most), and the rate buckets
      // work again: a burst of one buyer is limited, with Retry-After.
      await sleep(Math.max(0, backAt + 5000 - Date.now()));
      const burst = await Promise.all(
        Array.from({ length: 12 }, () => api.purchase(quietId, 'rate-probe')),
      );
      const burstStatuses = burst.map((a) => a.status).join(',');
      expect(burst.filter((a) => a.status === 202).length, `a burst of 12: ${burstStatuses}`).toBe(
        1,
      );
      const limited = burst.filter((a) => a.status === 429);
      expect(limited.length, `a burst of 12: ${burstStatuses}`).toBeGreaterThan(0);
      expect(limited.every((a) => a.headers.get('retry-after') !== null)).toBe(true);
      const probeAnswers = burst.map((a) => ({
        status: a.status,
        orderId: a.body?.orderId as string | undefined,
        buyer: 'rate-probe',
        quantity: 1,
      }));
      await assertOracle(env, quietId, probeAnswers);

      const first = await assertOracle(env, saleId, answers, { timeoutMs: 30_000 });
      await assertOneOrderPerKey(env, saleId, answers);
      await assertOracle(env, smallId, smallAnswers);

      // GET /sales/:id agrees with PostgreSQL, and the units not sold are buyable again.
      const { rows } = await db.query('SELECT stock, sold FROM sales WHERE id = $1', [saleId]);
      const left = Number(rows[0].stock) - Number(rows[0].sold);
      expect(left).toBe(stock - first.confirmedUnits);
      expect((await api.sale(saleId)).body.remaining, 'GET /sales remaining').toBe(left);
      const fresh = await buyOnce(api, saleId, buyersNamed('fresh', left + 10), 16);
      const freshByStatus = groupByStatus(fresh);
      expect(freshByStatus['202']?.length ?? 0, 'fresh buyers get every unit left').toBe(left);
      expect(freshByStatus['409']?.length ?? 0, 'then the sale is sold out').toBe(10);
      const oracle = await assertOracle(env, saleId, [...answers, ...fresh], { timeoutMs: 30_000 });
      expect(oracle.confirmedUnits, 'sold out exactly').toBe(stock);
      expect((await api.sale(saleId)).body.remaining).toBe(0);
    } finally {
      await db.end();
    }
  });
});
