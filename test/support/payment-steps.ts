import { expect } from 'vitest';
import { waitFor, type TestEnv } from './env.js';
import type { Client } from './system.js';
import { orderRows } from './payments.js';
import { createdSale, type SaleFields } from './fault-scenario.js';

// The steps the payment tests (test/payments/, test/failures/payment-*, test/sharded/) take
// around an order in its window: cancel it as its buyer, wait for the worker to confirm a
// number of orders, and read a refusal.

type Extra = Omit<SaleFields, 'sku' | 'name' | 'stock' | 'paymentWindowSeconds'>;

// A sale's fields with a payment window of `seconds` (anything, for the refusals), one unit a
// buyer unless `extra` says otherwise.
export const windowFields = (
  [sku, name]: [string, string],
  stock: number,
  seconds: unknown,
  extra: Extra = {},
) => ({ sku, name, stock, ...extra, paymentWindowSeconds: seconds });

// That sale, created (201) on the API: its id.
export const windowSale = (
  api: Client,
  names: [string, string],
  stock: number,
  seconds: number,
  extra: Extra = {},
) =>
  createdSale(api, {
    ...windowFields(names, stock, seconds, extra),
    paymentWindowSeconds: seconds,
  });

export const cancelOrder = (api: Client, orderId: string, buyer: string) =>
  api.raw('POST', `/orders/${orderId}/cancel`, api.buyerHeaders(buyer));

// Until exactly `count` of the sale's rows are confirmed (and not yet paid or ended).
export const untilConfirmed = (env: TestEnv, saleId: number, count: number, what: string) =>
  waitFor(
    async () =>
      (await orderRows(env, saleId)).filter((o) => o.status === 'confirmed').length === count,
    { what },
  );

// Until GET /sales/:id answers 200 with this many units remaining (Redis loaded back, say).
export const untilRemaining = (
  api: Client,
  saleId: number,
  remaining: number,
  { timeoutMs, what }: { timeoutMs: number; what: string },
) =>
  waitFor(
    async () => {
      const sale = await api.sale(saleId);
      return sale.status === 200 && sale.body.remaining === remaining;
    },
    { timeoutMs, what },
  );

// An answer refused with this status and error code (a webhook's or the API's).
export function expectRefused(
  answer: { status: number; body: { error?: { code: string } } | null },
  status: number,
  code: string,
): void {
  expect(answer.status).toBe(status);
  expect(answer.body?.error?.code).toBe(code);
}
