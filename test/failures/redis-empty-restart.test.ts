import { setTimeout as sleep } from 'node:timers/promises';
import { expect, it } from 'vitest';
import pg from 'pg';
import type { TestEnv } from '../support/env.js';
import { groupByStatus, type Client } from '../support/system.js';
import { assertOracle } from '../support/oracle.js';
import { faultScenario, lossSale } from '../support/fault-scenario.js';
import { startRedisServer } from '../support/redis-servers.js';
import {
  assertRestBuyable,
  buyersNamed,
  buyOnce,
  tally,
  type TimedAnswer,
} from '../support/buyers.js';
import { assertNothingLost, runRedisLoss } from '../support/redis-loss.js';
import { orderQueueNames } from '../../src/queues/names.js';

// Redis is killed and started again without its files, mid-sale: every sale, reservation,
// job, idempotency key, rate bucket and sold-out flag it held is gone, while RabbitMQ and
// PostgreSQL remember everything.
const scenario = faultScenario();

it('reloads every open sale within 5 s, never answers 404, and loses no 202', async () => {
  const redis = await startRedisServer();
  const opened = await scenario.onRedis('redis-empty-restart', redis.url, {
    // Longer than the 5 s deadline: the sale must come back without waiting for a pass.
    RECONCILE_INTERVAL_MS: '10000',
    RATE_LIMIT_CAPACITY: '5',
  });
  const { env, api } = opened;
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
  const sale = await lossSale(opened, ['redis-empty-restart', 'Forgotten'], stock);

  let killedAt = 0;
  const { answers, backAt, resumed } = await runRedisLoss(sale, async (buying) => {
    await sleep(500);
    killedAt = Date.now();
    await redis.restartEmpty();
    // restartEmpty resolves at the first PONG: Redis answers again from here. Buyers whose
    // keyed 202 Redis has forgotten press again with the same key.
    const forgotten = buying.answers.filter(
      (a) => a.status === 202 && a.idempotencyKey !== undefined && a.answeredAt < killedAt,
    );
    return { backAt: Date.now(), forgotten: forgotten.slice(-40) };
  });
  console.log(
    `empty restart: ${tally(answers)}; Redis down ${backAt - killedAt} ms; ` +
      `first 202 ${resumed ?? 'never'} ms after Redis answered PING`,
  );
  expectReloadedInTime(answers, backAt, resumed);
  await expectSoldOutStaysSoldOut(api, smallId);
  await expectBoardListsQueue(api, env);
  await expectQuietSaleBack(api, env, quietId, backAt);

  const first = await assertNothingLost(sale, answers);
  await assertOracle(env, smallId, smallAnswers);
  // GET /sales/:id agrees with PostgreSQL before the units not sold are bought.
  const left = await remainingInPostgres(env, sale.saleId);
  expect(left).toBe(stock - first.confirmedUnits);
  expect((await api.sale(sale.saleId)).body.remaining, 'GET /sales remaining').toBe(left);
  await assertRestBuyable(sale, answers, first.confirmedUnits);
  expect((await api.sale(sale.saleId)).body.remaining).toBe(0);
});

function expectReloadedInTime(answers: TimedAnswer[], backAt: number, resumed?: number) {
  expect(
    answers.filter((a) => a.status === 404).length,
    `no purchase of an existing sale answered 404 (${tally(answers)})`,
  ).toBe(0);
  expect(
    answers.filter((a) => a.status === 503 && a.sentAt >= backAt && a.retryAfter === null),
    'a 503 while the sale is reloaded carries Retry-After',
  ).toEqual([]);
  expect(resumed, 'a purchase accepted after Redis answered again').toBeDefined();
  expect(resumed!, 'selling resumed within 5 s of Redis answering').toBeLessThanOrEqual(5000);
}

// The sold-out sale is sold out again, with or without a key, and not missing.
async function expectSoldOutStaysSoldOut(api: Client, smallId: number) {
  const withAndWithoutKey: Record<string, string>[] = [{}, { 'idempotency-key': 'late' }];
  for (const extra of withAndWithoutKey) {
    const late = await api.purchase(smallId, 'small-late', { quantity: 1 }, extra);
    expect([late.status, late.body?.error?.code], 'the sold-out sale after the loss').toEqual([
      409,
      'SOLD_OUT',
    ]);
  }
}

// bull-board still shows the order queue.
async function expectBoardListsQueue(api: Client, env: TestEnv) {
  const board = await api.raw('GET', '/admin/queues/api/queues', {
    authorization: `Bearer ${env.config.auth.adminToken}`,
  });
  expect(board.status, JSON.stringify(board.body)).toBe(200);
  expect(
    (board.body.queues as { name: string }[]).map((q) => q.name),
    'bull-board lists the order queue',
  ).toContain(orderQueueNames(env.config)[0]!);
}

// The quiet sale is buyable once it is loaded back (5 s at most), and the rate buckets work
// again: a burst of one buyer is limited, with Retry-After.
async function expectQuietSaleBack(api: Client, env: TestEnv, quietId: number, backAt: number) {
  await sleep(Math.max(0, backAt + 5000 - Date.now()));
  const burst = await Promise.all(
    Array.from({ length: 12 }, () => api.purchase(quietId, 'rate-probe')),
  );
  const burstStatuses = burst.map((a) => a.status).join(',');
  expect(burst.filter((a) => a.status === 202).length, `a burst of 12: ${burstStatuses}`).toBe(1);
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
}

async function remainingInPostgres(env: TestEnv, saleId: number): Promise<number> {
  const db = new pg.Client({ connectionString: env.config.database.url });
  await db.connect();
  try {
    const { rows } = await db.query('SELECT stock, sold FROM sales WHERE id = $1', [saleId]);
    return Number(rows[0].stock) - Number(rows[0].sold);
  } finally {
    await db.end();
  }
}
