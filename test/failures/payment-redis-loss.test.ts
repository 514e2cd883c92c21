import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { startRedisServer } from '../support/redis-servers.js';
import { assertPaymentOracle, orderRows, payWebhook } from '../support/payments.js';
import { faultScenario } from '../support/fault-scenario.js';
import {
  cancelOrder,
  untilConfirmed,
  untilRemaining,
  windowSale,
} from '../support/payment-steps.js';
import { buyOnce } from '../support/buyers.js';

// Redis restarted empty while a sale's orders are paid, cancelled and still in their window
// (#12 meets #14): the sale is loaded back from PostgreSQL with each order's units as its row
// says (paid and confirmed hold them, cancelled does not), the expiry jobs are gone with
// everything else, and the sweep expires the unpaid orders on time all the same.
describe('Redis restarted empty during payment windows', () => {
  const scenario = faultScenario();

  it('reloads paid, cancelled and unpaid orders as their rows say, then expires the unpaid', async () => {
    const redis = await startRedisServer();
    const { env, sut, api } = await scenario.onRedis('payredisloss', redis.url);
    const saleId = await windowSale(api, ['pay-redis-loss', 'Forgotten windows'], 5, 10);
    // One buyer after the other.
    const answers = await buyOnce(api, saleId, ['l-paid', 'l-cancel', 'l-1', 'l-2'], 1);
    await untilConfirmed(env, saleId, 4, 'four orders confirmed');
    expect((await payWebhook(sut.baseUrl, env, answers[0]!.orderId!, 'pay-l')).status).toBe(200);
    const cancelled = await cancelOrder(api, answers[1]!.orderId!, 'l-cancel');
    expect(cancelled.status).toBe(200);
    expect((await api.sale(saleId)).body.remaining).toBe(2);

    await redis.restartEmpty();
    // Back from PostgreSQL: 5 - paid 1 - confirmed 2 (the cancelled unit stays on sale).
    const what = 'the sale loaded back with 2 remaining';
    await untilRemaining(api, saleId, 2, { timeoutMs: 15_000, what });

    const result = await assertPaymentOracle(env, saleId, answers, { windowsClosed: true });
    expect(result).toMatchObject({ paid: 1, cancelled: 1, expired: 2, remaining: 4 });
    for (const row of await orderRows(env, saleId)) {
      if (row.status !== 'expired') continue;
      expect(row.updated_at.getTime()).toBeGreaterThanOrEqual(row.pay_by!.getTime());
      expect(row.updated_at.getTime() - row.pay_by!.getTime()).toBeLessThan(5_000);
    }
    // The paid order still counts against its buyer; the others' allowance is back.
    const again = await buyOnce(api, saleId, ['l-paid', 'l-cancel', 'l-1', 'l-2', 'l-3', 'l-4'], 1);
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
  const scenario = faultScenario();

  it('returns the units an older Redis holds again, exactly once', async () => {
    const redis = await startRedisServer();
    const { env, api } = await scenario.onRedis('payaofback', redis.url);
    const saleId = await windowSale(api, ['pay-aof-back', 'Back in time'], 3, 600);
    const answers = await buyOnce(api, saleId, ['b-keep', 'b-cancel'], 1);
    await untilConfirmed(env, saleId, 2, 'two orders confirmed');
    // Everything before the cancel is on disk (appendfsync everysec).
    await sleep(1500);
    const copy = await redis.copyAof();
    const cancelled = await cancelOrder(api, answers[1]!.orderId!, 'b-cancel');
    expect(cancelled.status).toBe(200);
    expect((await api.sale(saleId)).body.remaining).toBe(2);

    await redis.kill9();
    await redis.restoreAof(copy);
    await redis.restart();
    // The older Redis sells one unit less until the compensator, seeing a new run_id, repairs.
    const what = 'the cancelled unit back on sale after the repair';
    await untilRemaining(api, saleId, 2, { timeoutMs: 30_000, what });

    const result = await assertPaymentOracle(env, saleId, answers);
    expect(result).toMatchObject({ unpaid: 1, cancelled: 1, remaining: 2 });
    // The unit sells again, exactly once.
    const again = await buyOnce(api, saleId, ['b-cancel', 'b-new', 'b-late'], 1);
    expect(again.map((a) => a.status)).toEqual([202, 202, 409]);
    await assertPaymentOracle(env, saleId, [...answers, ...again]);
  });
});
