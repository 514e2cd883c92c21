import { expiryQueueName } from '../../src/queues/names.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitFor, type TestEnv } from '../support/env.js';
import { type Client, type System, openSystem, closeSystem } from '../support/system.js';
import type { Answer } from '../support/oracle.js';
import { assertPaymentOracle, orderRows, payWebhook } from '../support/payments.js';
import { metric } from '../support/failures.js';
import { cancelOrder, expectRefused, windowFields, windowSale } from '../support/payment-steps.js';

// Every path of API.md's Payment section, on the real services: paid, a repeated and a
// second payment, cancelled (and the units sold again, also after a sell-out), expired on
// time and never early, and a sale without a window, where confirmed stays final.
// the payment window
let env: TestEnv;
let sut: System;
let api: Client;

beforeAll(async () => void ({ env, sut, api } = await openSystem('paylife')));
afterAll(() => closeSystem(sut, env));

const buy = async (saleId: number, buyer: string, quantity = 1): Promise<Answer> => {
  const answer = await api.purchase(saleId, buyer, { quantity });
  return { status: answer.status, orderId: answer.body?.orderId, buyer, quantity };
};
const confirmedOrder = (orderId: string, buyer: string) =>
  waitFor(
    async () => {
      const order = await api.order(orderId, buyer);
      return order.body.status === 'confirmed' ? order.body : null;
    },
    { what: `order ${orderId} confirmed` },
  );
const cancel = (orderId: string, buyer: string) => cancelOrder(api, orderId, buyer);

it('takes paymentWindowSeconds as an int of 10-86400, and refuses anything else', async () => {
  for (const [i, value] of [9, 86_401, 10.5, '60', null, 0].entries()) {
    const refused = await api.createSale(windowFields([`bad-window-${i}`, 'Bad window'], 1, value));
    expect(refused.status, JSON.stringify(value)).toBe(400);
    expect(refused.body.error.code).toBe('BAD_REQUEST');
  }
  for (const value of [10, 86_400]) {
    const created = await api.createSale(windowFields([`window-${value}`, 'Window'], 1, value));
    expect(created.status).toBe(201);
    expect(created.body.paymentWindowSeconds).toBe(value);
  }
});

it('a sale without a window: confirmed is final, nothing to pay or cancel', async () => {
  const created = await api.createSale({ sku: 'no-window', name: 'No window', stock: 5 });
  expect(created.status).toBe(201);
  expect(created.body.paymentWindowSeconds).toBeNull();
  const saleId = created.body.id as number;
  const answer = await buy(saleId, 'nw-1');
  const order = await confirmedOrder(answer.orderId!, 'nw-1');
  expect(order.payBy).toBeUndefined();

  const paid = await payWebhook(sut.baseUrl, env, answer.orderId!, 'pay-nw');
  expectRefused(paid, 409, 'ORDER_NOT_PAYABLE');
  expectRefused(await cancel(answer.orderId!, 'nw-1'), 409, 'ORDER_NOT_CANCELLABLE');
  expect((await api.order(answer.orderId!, 'nw-1')).body.status).toBe('confirmed');
});

it('pays once: a repeat answers the same, another paymentId is refused, paid cannot be cancelled', async () => {
  const created = await api.createSale(windowFields(['pay-once', 'Pay once'], 5, 600));
  expect(created.status).toBe(201);
  expect(created.body.paymentWindowSeconds).toBe(600);
  expect((await api.sale(created.body.id as number)).body.paymentWindowSeconds).toBe(600);
  const saleId = created.body.id as number;
  const answer = await buy(saleId, 'po-1');
  const order = await confirmedOrder(answer.orderId!, 'po-1');
  const payBy = Date.parse(order.payBy as string);
  const confirmedAt = Date.parse(order.createdAt as string);
  expect(payBy - confirmedAt).toBeGreaterThanOrEqual(599_000);
  expect(payBy - confirmedAt).toBeLessThanOrEqual(601_000);

  const first = await payWebhook(sut.baseUrl, env, answer.orderId!, 'pay-1');
  expect(first).toEqual({ status: 200, body: { orderId: answer.orderId, status: 'paid' } });
  const repeat = await payWebhook(sut.baseUrl, env, answer.orderId!, 'pay-1');
  expect(repeat).toEqual(first);
  const other = await payWebhook(sut.baseUrl, env, answer.orderId!, 'pay-2');
  expectRefused(other, 409, 'ORDER_NOT_PAYABLE');
  expectRefused(await cancel(answer.orderId!, 'po-1'), 409, 'ORDER_NOT_CANCELLABLE');
  expect((await api.order(answer.orderId!, 'po-1')).body.status).toBe('paid');

  const result = await assertPaymentOracle(env, saleId, [answer]);
  expect(result).toMatchObject({ paid: 1, unpaid: 0, remaining: 4 });
});

it('a cancel gives the units back to the sale and the buyer, also after a sell-out', async () => {
  const reopens = windowFields(['cancel-reopen', 'Cancel reopens'], 2, 600, { perUserLimit: 2 });
  const saleId = (await api.createSale(reopens)).body.id as number;
  const answers = [await buy(saleId, 'cr-1', 2)];
  await confirmedOrder(answers[0]!.orderId!, 'cr-1');
  const soldOut = await buy(saleId, 'cr-2');
  expect(soldOut.status).toBe(409);
  expect((await api.sale(saleId)).body).toMatchObject({ remaining: 0, soldOut: true });

  // Someone else's order is answered as a missing one, and stays as it was.
  expectRefused(await cancel(answers[0]!.orderId!, 'cr-2'), 404, 'ORDER_NOT_FOUND');

  const cancelled = await cancel(answers[0]!.orderId!, 'cr-1');
  expect(cancelled.status).toBe(200);
  expect(cancelled.body).toMatchObject({ orderId: answers[0]!.orderId, status: 'cancelled' });
  const again = await cancel(answers[0]!.orderId!, 'cr-1');
  expect(again.status).toBe(200);
  expect(again.body.status).toBe('cancelled');
  const late = await payWebhook(sut.baseUrl, env, answers[0]!.orderId!, 'pay-late');
  expectRefused(late, 409, 'ORDER_EXPIRED');

  // The units sell again, exactly: two, to the buyer who was refused and the one who cancelled.
  await waitFor(async () => (await api.sale(saleId)).body.remaining === 2, {
    what: 'the cancelled units back on sale',
  });
  for (const buyer of ['cr-2', 'cr-1']) answers.push(await buy(saleId, buyer));
  expect(answers.slice(1).map((a) => a.status)).toEqual([202, 202]);
  answers.push(await buy(saleId, 'cr-3'));
  expect(answers.at(-1)!.status).toBe(409);
  const result = await assertPaymentOracle(env, saleId, answers);
  expect(result).toMatchObject({ paid: 0, unpaid: 2, cancelled: 1, remaining: 0 });
});

it('expires an unpaid order within 5 s of payBy, never before, and the units sell again', async () => {
  const saleId = await windowSale(api, ['expire-on-time', 'Expire on time'], 3, 10);
  const answers = [await buy(saleId, 'ex-1'), await buy(saleId, 'ex-2'), await buy(saleId, 'ex-3')];
  for (const a of answers) await confirmedOrder(a.orderId!, a.buyer);
  // ex-3 pays; the others let their orders expire.
  expect((await payWebhook(sut.baseUrl, env, answers[2]!.orderId!, 'pay-ex-3')).status).toBe(200);

  await waitFor(
    async () => (await orderRows(env, saleId)).filter((o) => o.status === 'expired').length === 2,
    { timeoutMs: 30_000, what: 'two orders expired' },
  );
  for (const row of await orderRows(env, saleId)) {
    if (row.status !== 'expired') continue;
    const delayMs = row.updated_at.getTime() - row.pay_by!.getTime();
    expect(delayMs, `order ${row.id} expired before payBy`).toBeGreaterThanOrEqual(0);
    expect(delayMs, `order ${row.id} expired within 5 s of payBy`).toBeLessThan(5_000);
  }
  const late = await payWebhook(sut.baseUrl, env, answers[0]!.orderId!, 'pay-ex-1');
  expectRefused(late, 409, 'ORDER_EXPIRED');
  expectRefused(await cancel(answers[1]!.orderId!, 'ex-2'), 409, 'ORDER_NOT_CANCELLABLE');
  expect((await api.order(answers[0]!.orderId!, 'ex-1')).body.status).toBe('expired');

  // The expired buyers' allowance is back too: ex-1 (limit 1) may buy again.
  answers.push(await buy(saleId, 'ex-1'), await buy(saleId, 'ex-4'), await buy(saleId, 'ex-5'));
  expect(answers.slice(3).map((a) => a.status)).toEqual([202, 202, 409]);
  const result = await assertPaymentOracle(env, saleId, answers);
  expect(result).toMatchObject({ paid: 1, unpaid: 2, expired: 2, remaining: 0 });
});

it('counts paid, cancelled and expired orders and shows the expiry queue', async () => {
  const apiPort = sut.api.port;
  expect(await metric(apiPort, 'flashline_order_payments_total', { outcome: 'paid' })).toBe(2);
  expect(await metric(apiPort, 'flashline_order_payments_total', { outcome: 'cancelled' })).toBe(1);
  expect(await metric(apiPort, 'flashline_order_time_to_payment_seconds_count')).toBe(2);
  const workerPort = sut.worker.metricsPort;
  expect(await metric(workerPort, 'flashline_order_payments_total', { outcome: 'expired' })).toBe(
    2,
  );
  expect(await metric(workerPort, 'flashline_order_expiry_delay_seconds_count')).toBe(2);
  expect(await metric(workerPort, 'flashline_order_expiries_late_total')).toBe(0);

  const board = await api.raw('GET', '/admin/queues/api/queues', {
    authorization: `Bearer ${env.config.auth.adminToken}`,
  });
  expect(board.status).toBe(200);
  const names = (board.body.queues as { name: string }[]).map((q) => q.name);
  expect(names).toContain(expiryQueueName);
});
