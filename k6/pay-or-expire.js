// Pay or expire: a sale with a payment window (API.md, Payment) sells out to BUYERS buyers;
// PAY_PERCENT of them pay through the signed webhook, the rest let their orders expire. Then
// a second wave of buyers arrives after the windows closed and buys the returned units.
// Every payment inside the window is accepted (and a repeat answers the same), every unpaid
// order is expired within a few seconds of payBy (and a payment then answers ORDER_EXPIRED),
// and the second wave sells the sale out again: the units that came back sold, exactly.
//
//   k6 run k6/pay-or-expire.js
//   k6 run -e BUYERS=2000 -e WINDOW_SECONDS=30 -e PAY_PERCENT=40 k6/pay-or-expire.js
//
// Run against a deployment with PAYMENT_WEBHOOK_SECRET set as here (see lib.js).
import { check, sleep } from 'k6';
import exec from 'k6/execution';
import { Counter } from 'k6/metrics';
import {
  buyerToken,
  commonThresholds,
  createSale,
  errorCode,
  getOrder,
  getSale,
  isShed,
  parseJson,
  payOrder,
  purchase,
  runId,
} from './lib.js';

const BUYERS = Number(__ENV.BUYERS || 500);
const WINDOW_SECONDS = Number(__ENV.WINDOW_SECONDS || 20);
const PAY_PERCENT = Number(__ENV.PAY_PERCENT || 60);
// How long after payBy an unpaid order must show as expired (API.md: within a few seconds).
const EXPIRE_GRACE_SECONDS = Number(__ENV.EXPIRE_GRACE_SECONDS || 6);
const FIRST_WAVE_SECONDS = 20;

const paidOrders = new Counter('paid_orders');
const expiredOrders = new Counter('expired_orders');
const resoldOrders = new Counter('resold_orders');

export const options = {
  scenarios: {
    // Every buyer buys one unit, then pays or waits out the window.
    first_wave: {
      executor: 'per-vu-iterations',
      vus: BUYERS,
      iterations: 1,
      maxDuration: `${FIRST_WAVE_SECONDS + WINDOW_SECONDS + EXPIRE_GRACE_SECONDS + 30}s`,
      exec: 'buyThenPayOrWait',
    },
    // Arrives once every first-wave window has closed: the units of the unpaid are back.
    second_wave: {
      executor: 'shared-iterations',
      vus: 50,
      iterations: BUYERS,
      startTime: `${FIRST_WAVE_SECONDS + WINDOW_SECONDS + EXPIRE_GRACE_SECONDS + 30}s`,
      maxDuration: '60s',
      exec: 'buyAgain',
    },
  },
  thresholds: {
    ...commonThresholds,
    'http_req_duration{name:payment_webhook}': ['p(99)<1000'],
    // Payments inside the window are accepted, once, whatever the repeat.
    'checks{phase:pay}': ['rate==1'],
    // Unpaid orders expire within the grace, and a late payment is refused for a refund.
    'checks{phase:expire}': ['rate==1'],
    // The second wave bought every returned unit: the sale ends sold out again.
    'checks{phase:verify}': ['rate==1'],
    paid_orders: ['count>0'],
    expired_orders: ['count>0'],
    resold_orders: ['count>0'],
  },
};

export function setup() {
  const run = runId();
  const sale = createSale({
    sku: `k6-pay-${run}`,
    name: 'k6 pay or expire',
    stock: BUYERS,
    perUserLimit: 1,
    paymentWindowSeconds: WINDOW_SECONDS,
  });
  return { saleId: sale.id, run };
}

// The order once the worker confirmed it, or null.
function confirmedOrder(orderId, token) {
  for (let i = 0; i < 40; i++) {
    const order = parseJson(getOrder(orderId, { token }));
    if (order && order.status === 'confirmed') return order;
    sleep(0.25);
  }
  return null;
}

export function buyThenPayOrWait(data) {
  const index = exec.vu.idInTest;
  const token = buyerToken(`pay-${data.run}-${index}`);
  // Spread over the first seconds, as a crowd arrives.
  sleep(Math.random() * 5);
  let res = purchase(data.saleId, { token });
  for (let retry = 0; retry < 5 && (res.status === 429 || isShed(res)); retry++) {
    sleep(1);
    res = purchase(data.saleId, { token });
  }
  check(res, { 'first wave buys (202)': (r) => r.status === 202 });
  if (res.status !== 202) return;
  const { orderId } = parseJson(res);
  const order = confirmedOrder(orderId, token);
  check(order, { 'order confirmed with a payBy': (o) => Boolean(o && o.payBy) });
  if (!order) return;

  if (index % 100 < PAY_PERCENT) {
    // A buyer who pays a moment after confirmation, well inside the window.
    sleep(Math.random() * Math.min(5, WINDOW_SECONDS / 4));
    const paymentId = `k6-${data.run}-${index}`;
    const paid = payOrder(orderId, paymentId);
    const again = payOrder(orderId, paymentId);
    const ok = check(
      { paid, again },
      {
        'payment accepted (200 paid)': (r) => r.paid.status === 200,
        'a repeat answers the same': (r) => r.again.status === 200 && r.again.body === r.paid.body,
      },
      { phase: 'pay' },
    );
    if (ok) paidOrders.add(1);
    return;
  }
  // A buyer who never pays: the order must be expired a few seconds after payBy.
  const waitSeconds = (Date.parse(order.payBy) - Date.now()) / 1000 + EXPIRE_GRACE_SECONDS;
  sleep(Math.max(0, waitSeconds));
  const expired = parseJson(getOrder(orderId, { token }));
  const late = payOrder(orderId, `k6-late-${data.run}-${index}`);
  const ok = check(
    { expired, late },
    {
      'unpaid order expired': (r) => Boolean(r.expired && r.expired.status === 'expired'),
      'a late payment answers ORDER_EXPIRED': (r) =>
        r.late.status === 409 && errorCode(r.late) === 'ORDER_EXPIRED',
    },
    { phase: 'expire' },
  );
  if (ok) expiredOrders.add(1);
}

export function buyAgain(data) {
  const res = purchase(data.saleId, `again-${data.run}-${exec.scenario.iterationInTest}`);
  if (res.status === 202) resoldOrders.add(1);
  check(res, {
    'second wave answered 202, 409, 429 or shed': (r) =>
      r.status === 202 || r.status === 409 || r.status === 429 || isShed(r),
  });
}

export function teardown(data) {
  const sale = parseJson(getSale(data.saleId, { phase: 'verify' }));
  check(
    sale,
    {
      'the returned units sold again: sold out': (s) =>
        Boolean(s && s.remaining === 0 && s.soldOut === true),
    },
    { phase: 'verify' },
  );
}
