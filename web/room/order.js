// The purchase with the pass, then the order's status until it settles.
import { call, clock, el, later, problem, say, show, tell } from './api.js';

const refusals = {
  SOLD_OUT: 'Sold out: the last units went before this purchase.',
  LIMIT_REACHED: 'You already hold the most this sale allows.',
  NOT_ADMITTED: 'Your pass is no longer valid. Checking your place…',
};

// One click, one Idempotency-Key: the retries of a busy answer are the same order, never a
// second one. Returns the order's id, or the refusal's code once it is shown.
export async function purchase(saleId, quantity, headers) {
  el('buy').disabled = true;
  tell('Buying…');
  const answer = await call(
    'POST',
    `/sales/${saleId}/purchase`,
    { 'idempotency-key': crypto.randomUUID(), ...headers },
    { quantity },
  );
  el('buy').disabled = false;
  tell('');
  if (answer.status === 202) return { orderId: answer.data.orderId };
  problem(
    refusals[answer.code] ??
      answer.data?.error?.message ??
      `The purchase failed (${answer.status}).`,
  );
  return { code: answer.code };
}

const orderText = {
  pending: 'Reserved: your order is being recorded…',
  confirmed: 'Confirmed: the unit is yours.',
  paid: 'Paid. Thank you!',
  expired: 'Expired: the payment window passed and the units went back on sale.',
  cancelled: 'Cancelled: the units went back on sale.',
  failed: 'Failed: nothing was charged and the units went back on sale.',
};

// GET /orders/:id until the order settles: pending moves in milliseconds; a confirmed order
// awaiting payment may still expire, so it is asked after now and then.
export async function followOrder(orderId) {
  ['buy-box', 'place-box', 'countdown-box'].forEach((id) => show(id, false));
  show('order-box');
  el('order-id').textContent = orderId;
  el('order-title').focus();
  let last = null;
  for (;;) {
    const answer = await call('GET', `/orders/${orderId}`);
    const order = answer.data;
    if (answer.status !== 200) return problem(order?.error?.message ?? 'The order is not found.');
    el('order-status').textContent = order.status;
    const payBy = order.payBy ? ` Pay by ${clock(order.payBy)}.` : '';
    el('order-note').textContent = (orderText[order.status] ?? '') + payBy;
    if (order.status !== last) say(`Order ${order.status}.${payBy}`);
    last = order.status;
    if (order.status === 'pending') await later(500);
    else if (order.status === 'confirmed' && order.payBy) await later(5000);
    else return;
  }
}
