import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor, type TestEnv } from '../support/env.js';
import { type Client, type System, openSystem, closeSystem } from '../support/system.js';
import type { Answer } from '../support/oracle.js';
import { assertPaymentOracle, orderRows, payWebhook } from '../support/payments.js';
import { cancelOrder, windowSale } from '../support/payment-steps.js';

// The payment window over shards: an order cancelled or expired gives its unit back to the
// shard that held it (lua/return-4.lua at home, then give-back-2.lua on the shard), exactly
// once, and the unit sells again.
describe('a sale over shards with a payment window', () => {
  let env: TestEnv;
  let sut: System;
  let api: Client;

  beforeAll(async () => {
    ({ env, sut, api } = await openSystem('sharded-pay'));
  });
  afterAll(async () => {
    await closeSystem(sut, env);
  });

  const buy = async (saleId: number, buyer: string): Promise<Answer> => {
    const answer = await api.purchase(saleId, buyer);
    return { status: answer.status, orderId: answer.body?.orderId, buyer, quantity: 1 };
  };
  const confirmed = (a: Answer) =>
    waitFor(async () => (await api.order(a.orderId!, a.buyer)).body.status === 'confirmed', {
      what: `order ${a.orderId} confirmed`,
    });

  it('a cancel and an expiry each give one unit back to its shard, and both sell again', async () => {
    const shards = 4;
    const names: [string, string] = ['sharded-pay', 'Pay over shards'];
    const saleId = await windowSale(api, names, shards, 10, { shards });
    // One unit per shard: the four buyers hold a unit on each.
    const answers = [];
    for (const buyer of ['pays', 'cancels', 'lets-expire', 'keeps']) {
      answers.push(await buy(saleId, buyer));
    }
    expect(answers.map((a) => a.status)).toEqual([202, 202, 202, 202]);
    for (const a of answers) await confirmed(a);
    expect((await buy(saleId, 'refused')).status).toBe(409);

    const [pays, cancels] = answers;
    expect((await payWebhook(sut.baseUrl, env, pays!.orderId!, 'pay-1')).status).toBe(200);
    const cancelled = await cancelOrder(api, cancels!.orderId!, 'cancels');
    expect(cancelled.status).toBe(200);
    await waitFor(async () => (await api.sale(saleId)).body.remaining === 1, {
      what: 'the cancelled unit back on its shard',
    });
    // 'keeps' pays just before its window closes; 'lets-expire' does not.
    expect((await payWebhook(sut.baseUrl, env, answers[3]!.orderId!, 'pay-4')).status).toBe(200);
    await waitFor(async () => (await orderRows(env, saleId)).some((o) => o.status === 'expired'), {
      timeoutMs: 30_000,
      what: 'the unpaid order expired',
    });
    await waitFor(async () => (await api.sale(saleId)).body.remaining === 2, {
      what: 'the expired unit back on its shard',
    });

    // Whichever shard a new purchase starts on, it finds the two units given back.
    answers.push(await buy(saleId, 'second-1'), await buy(saleId, 'second-2'));
    expect(answers.slice(4).map((a) => a.status)).toEqual([202, 202]);
    answers.push(await buy(saleId, 'third'));
    expect(answers.at(-1)!.status).toBe(409);
    const result = await assertPaymentOracle(env, saleId, answers);
    expect(result).toMatchObject({ paid: 2, unpaid: 2, cancelled: 1, expired: 1, remaining: 0 });
  });
});
