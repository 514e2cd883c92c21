import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { TestEnv } from '../support/env.js';
import { pool, type Client, type System, openSystem, closeSystem } from '../support/system.js';
import type { Answer } from '../support/oracle.js';
import { assertPaymentOracle, orderRows, payWebhook } from '../support/payments.js';
import { cancelOrder, untilConfirmed, windowSale } from '../support/payment-steps.js';

// The bug flash-sale trackers report: the timeout racing a payment. The order row decides,
// first write wins, and the loser's answer says which won; never both.
// payment races
let env: TestEnv;
let sut: System;
let api: Client;

beforeAll(async () => void ({ env, sut, api } = await openSystem('payrace')));
afterAll(() => closeSystem(sut, env));

const buyAll = async (saleId: number, prefix: string, count: number) => {
  const answers = await pool(
    Array.from({ length: count }, (_, i) => async (): Promise<Answer> => {
      const buyer = `${prefix}-${i}`;
      const answer = await api.purchase(saleId, buyer);
      return { status: answer.status, orderId: answer.body?.orderId, buyer, quantity: 1 };
    }),
    16,
  );
  expect(answers.every((a) => a.status === 202)).toBe(true);
  await untilConfirmed(env, saleId, count, `${count} orders confirmed`);
  return answers;
};

it('payments fired at payBy ± 20 ms: each order is paid or expired, never both', async () => {
  const count = 60;
  const saleId = await windowSale(api, ['race-pay-by', 'Race payBy'], count, 10);
  const answers = await buyAll(saleId, 'rp', count);
  const payBy = new Map((await orderRows(env, saleId)).map((o) => [o.id, o.pay_by!.getTime()]));

  const webhooks = await Promise.all(
    answers.map(async (answer, i) => {
      // Spread over [-20, +20] ms around the order's own payBy.
      const at = payBy.get(answer.orderId!)! - 20 + ((i * 41) % 41);
      await sleep(Math.max(0, at - Date.now()));
      const paid = await payWebhook(sut.baseUrl, env, answer.orderId!, `pay-${i}`);
      return { orderId: answer.orderId!, status: paid.status, code: paid.body?.error?.code };
    }),
  );
  const result = await assertPaymentOracle(env, saleId, answers, { windowsClosed: true });
  const rows = new Map((await orderRows(env, saleId)).map((o) => [o.id, o]));
  for (const webhook of webhooks) {
    const row = rows.get(webhook.orderId)!;
    if (webhook.status === 200) {
      expect(row.status, `order ${webhook.orderId} was answered paid`).toBe('paid');
      // Paid by the database clock before payBy.
      expect(row.paid_in_window, `order ${webhook.orderId} paid before its payBy`).toBe(true);
    } else {
      expect(webhook, `order ${webhook.orderId} refused as expired`).toMatchObject({
        status: 409,
        code: 'ORDER_EXPIRED',
      });
      expect(row.status).toBe('expired');
      expect(row.updated_at.getTime()).toBeGreaterThanOrEqual(row.pay_by!.getTime());
    }
  }
  expect(result.paid + result.expired).toBe(count);
  expect(result.paid).toBe(webhooks.filter((w) => w.status === 200).length);
});

it('payments racing cancels: one wins, the loser is told which', async () => {
  const count = 50;
  const saleId = await windowSale(api, ['race-cancel', 'Race cancel'], count, 600);
  const answers = await buyAll(saleId, 'rc', count);
  const outcomes = await pool(
    answers.map((answer, i) => async () => {
      const [paid, cancelled] = await Promise.all([
        payWebhook(sut.baseUrl, env, answer.orderId!, `pay-${i}`),
        cancelOrder(api, answer.orderId!, answer.buyer),
      ]);
      return {
        orderId: answer.orderId!,
        paid: paid.status === 200 ? 'paid' : paid.body?.error?.code,
        cancelled: cancelled.status === 200 ? 'cancelled' : cancelled.body?.error?.code,
      };
    }),
    25,
  );
  const rows = new Map((await orderRows(env, saleId)).map((o) => [o.id, o]));
  for (const outcome of outcomes) {
    const status = rows.get(outcome.orderId)!.status;
    if (status === 'paid') {
      expect(outcome).toMatchObject({ paid: 'paid', cancelled: 'ORDER_NOT_CANCELLABLE' });
    } else {
      expect(status).toBe('cancelled');
      expect(outcome).toMatchObject({ paid: 'ORDER_EXPIRED', cancelled: 'cancelled' });
    }
  }
  const result = await assertPaymentOracle(env, saleId, answers);
  expect(result.paid + result.cancelled).toBe(count);
  expect(result.remaining).toBe(result.cancelled);
});
