import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '../../test/support/system.js';
import type { TestEnv } from '../../test/support/env.js';
import { payWebhook } from '../../test/support/payments.js';
import type { SoakSale } from './sales.js';
import { enter } from './waiting-room.js';

// A steady trickle of purchases, `perSecond` from buyers never seen before, and a spike of
// `spike` purchases at once when asked. Half the orders of a sale with a payment window are
// paid a moment later; the others are left to expire.
export function startShoppers(
  api: Client,
  env: TestEnv,
  baseUrl: string,
  current: () => SoakSale | null,
  { perSecond = 10 } = {},
) {
  let buyer = 0;
  let running = true;
  let inFlight = 0;
  const buy = async () => {
    const sale = current();
    if (!sale) return;
    const name = `b${buyer++}`;
    inFlight += 1;
    try {
      const headers = await enter(api, sale.id, name);
      const answer = await api.purchase(sale.id, name, { quantity: 1 }, headers);
      const orderId = answer.body?.orderId as string | undefined;
      sale.answers.push({ status: answer.status, orderId, buyer: name, quantity: 1 });
      if (sale.paymentWindow && answer.status === 202 && orderId && buyer % 2 === 0) {
        setTimeout(
          () => void payWebhook(baseUrl, env, orderId, `pay-${orderId}`).catch(() => undefined),
          2_000,
        );
      }
    } catch {
      // The API unreachable (killed by a fault): no answer to record.
    } finally {
      inFlight -= 1;
    }
  };
  const timer = setInterval(() => {
    if (running && inFlight < 200) void buy();
  }, 1000 / perSecond);
  return {
    spike: async (count: number) => {
      await Promise.all(Array.from({ length: count }, () => buy()));
    },
    stop: async () => {
      running = false;
      clearInterval(timer);
      while (inFlight > 0) await sleep(50);
    },
  };
}
