import { afterAll, describe, expect, it } from 'vitest';
import { createTestEnv, waitFor, type TestEnv } from '../support/env.js';
import { client } from '../support/system.js';
import type { Answer } from '../support/oracle.js';
import { settleFast, spawnPipeline, stopEverything } from '../support/failures.js';
import { startRedisServer } from '../support/redis-servers.js';
import { assertPaymentOracle, orderRows, payWebhook } from '../support/payments.js';

// Redis restarted empty while a sale's orders are paid, cancelled and still in their window
// (#12 meets #14): the sale is loaded back from PostgreSQL with each order's units as its row
// says (paid and confirmed hold them, cancelled does not), the expiry jobs are gone with
// everything else, and the sweep expires the unpaid orders on time all the same.
describe('Redis restarted empty during payment windows', () => {
  let env: TestEnv | undefined;

  afterAll(() => stopEverything(env));

  it('reloads paid, cancelled and unpaid orders as their rows say, then expires the unpaid', async () => {
    const redis = await startRedisServer();
    env = await createTestEnv('payredisloss', { REDIS_URL: redis.url, ...settleFast });
    const sut = await spawnPipeline(env);
    const api = client(sut.baseUrl, env);
    const created = await api.createSale({
      sku: 'pay-redis-loss',
      name: 'Forgotten windows',
      stock: 5,
      paymentWindowSeconds: 10,
    });
    const saleId = created.body.id as number;
    const answers: Answer[] = [];
    for (const buyer of ['l-paid', 'l-cancel', 'l-1', 'l-2']) {
      const answer = await api.purchase(saleId, buyer);
      answers.push({ status: answer.status, orderId: answer.body?.orderId, buyer, quantity: 1 });
    }
    await waitFor(
      async () =>
        (await orderRows(env!, saleId)).filter((o) => o.status === 'confirmed').length === 4,
      { what: 'four orders confirmed' },
    );
    expect((await payWebhook(sut.baseUrl, env, answers[0]!.orderId!, 'pay-l')).status).toBe(200);
    const cancelled = await api.raw(
      'POST',
      `/orders/${answers[1]!.orderId}/cancel`,
      api.buyerHeaders('l-cancel'),
    );
    expect(cancelled.status).toBe(200);
    expect((await api.sale(saleId)).body.remaining).toBe(2);

    await redis.restartEmpty();
    // Back from PostgreSQL: 5 - paid 1 - confirmed 2 (the cancelled unit stays on sale).
    await waitFor(
      async () => {
        const sale = await api.sale(saleId);
        return sale.status === 200 && sale.body.remaining === 2;
      },
      { timeoutMs: 15_000, what: 'the sale loaded back with 2 remaining' },
    );

    const result = await assertPaymentOracle(env, saleId, answers, { windowsClosed: true });
    expect(result).toMatchObject({ paid: 1, cancelled: 1, expired: 2, remaining: 4 });
    for (const row of await orderRows(env, saleId)) {
      if (row.status !== 'expired') continue;
      expect(row.updated_at.getTime()).toBeGreaterThanOrEqual(row.pay_by!.getTime());
      expect(row.updated_at.getTime() - row.pay_by!.getTime()).toBeLessThan(5_000);
    }
    // The paid order still counts against its buyer; the others' allowance is back.
    const again: Answer[] = [];
    for (const buyer of ['l-paid', 'l-cancel', 'l-1', 'l-2', 'l-3', 'l-4']) {
      const answer = await api.purchase(saleId, buyer);
      again.push({ status: answer.status, orderId: answer.body?.orderId, buyer, quantity: 1 });
    }
    expect(again.map((a) => [a.buyer, a.status])).toEqual([
      ['l-paid', 409],
      ['l-cancel', 202],
      ['l-1', 202],
      ['l-2', 202],
      ['l-3', 202],
      ['l-4', 409],
    ]);
    await assertPaymentOracle(env, saleId, [...answers, ...again]);
  });
});

// Redis comes back from an AOF taken before a cancel: it holds the cancelled order's units
// again (its reservation F, the buyer's held unit, remaining one lower) while PostgreSQL holds
// the cancel, its return recorded. The compensator's repair after the new run_id returns them
// again, once.
describe('Redis gone back in time past a cancel', () => {
  let env: TestEnv | undefined;

  afterAll(() => stopEverything(env));

  it('returns the units an older Redis holds again, exactly once', async () => {
    const redis = await startRedisServer();
    env = await createTestEnv('payaofback', { REDIS_URL: redis.url, ...settleFast });
    const sut = await spawnPipeline(env);
    const api = client(sut.baseUrl, env);
    const created = await api.createSale({
      sku: 'pay-aof-back',
      name: 'Back in time',
      stock: 3,
      paymentWindowSeconds: 600,
    });
    const saleId = created.body.id as number;
    const answers: Answer[] = [];
    for (const buyer of ['b-keep', 'b-cancel']) {
      const answer = await api.purchase(saleId, buyer);
      answers.push({ status: answer.status, orderId: answer.body?.orderId, buyer, quantity: 1 });
    }
    await waitFor(
      async () =>
        (await orderRows(env!, saleId)).filter((o) => o.status === 'confirmed').length === 2,
      { what: 'two orders confirmed' },
    );
    // Everything before the cancel is on disk (appendfsync everysec).
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const copy = await redis.copyAof();
    const cancelled = await api.raw(
      'POST',
      `/orders/${answers[1]!.orderId}/cancel`,
      api.buyerHeaders('b-cancel'),
    );
    expect(cancelled.status).toBe(200);
    expect((await api.sale(saleId)).body.remaining).toBe(2);

    await redis.kill9();
    await redis.restoreAof(copy);
    await redis.restart();
    // The older Redis sells one unit less until the compensator, seeing a new run_id, repairs.
    await waitFor(
      async () => {
        const sale = await api.sale(saleId);
        return sale.status === 200 && sale.body.remaining === 2;
      },
      { timeoutMs: 30_000, what: 'the cancelled unit back on sale after the repair' },
    );

    const result = await assertPaymentOracle(env, saleId, answers);
    expect(result).toMatchObject({ unpaid: 1, cancelled: 1, remaining: 2 });
    // The unit sells again, exactly once.
    const again: Answer[] = [];
    for (const buyer of ['b-cancel', 'b-new', 'b-late']) {
      const answer = await api.purchase(saleId, buyer);
      again.push({ status: answer.status, orderId: answer.body?.orderId, buyer, quantity: 1 });
    }
    expect(again.map((a) => a.status)).toEqual([202, 202, 409]);
    await assertPaymentOracle(env, saleId, [...answers, ...again]);
  });
});
