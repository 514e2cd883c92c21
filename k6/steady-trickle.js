// Steady trickle: RATE purchases per second (default 200) on a sale with a huge stock, each from
// a new buyer; every SAMPLE_EVERY-th order (default 20th) is then followed with GET /orders/:id
// until it leaves `pending`, and must end `confirmed` within CONFIRM_TIMEOUT_S seconds.
//
//   k6 run k6/steady-trickle.js
//   k6 run -e RATE=500 -e DURATION=5m -e SAMPLE_EVERY=50 k6/steady-trickle.js
import { check, sleep } from 'k6';
import exec from 'k6/execution';
import { Rate, Trend } from 'k6/metrics';
import {
  buyerToken,
  commonThresholds,
  createSale,
  getOrder,
  parseJson,
  purchase,
  runId,
} from './lib.js';

const RATE = Number(__ENV.RATE || 200);
const DURATION = __ENV.DURATION || '1m';
const STOCK = Number(__ENV.STOCK || 10000000);
const SAMPLE_EVERY = Math.max(1, Number(__ENV.SAMPLE_EVERY || 20));
const CONFIRM_TIMEOUT_S = Number(__ENV.CONFIRM_TIMEOUT_S || 15);
const POLL_INTERVAL_S = Number(__ENV.POLL_INTERVAL_S || 0.2);
const P95_MS = Number(__ENV.P95_MS || 100);
const P99_MS = Number(__ENV.P99_MS || 250);

const ordersConfirmed = new Rate('orders_confirmed');
const confirmTime = new Trend('order_confirm_time', true);

export const options = {
  scenarios: {
    trickle: {
      executor: 'constant-arrival-rate',
      rate: RATE,
      timeUnit: '1s',
      duration: DURATION,
      preAllocatedVUs: 50,
      // Sampled iterations keep their VU while they poll the order.
      maxVUs: 500,
      // Let the last sampled orders finish their polling.
      gracefulStop: `${CONFIRM_TIMEOUT_S + 10}s`,
    },
  },
  thresholds: {
    ...commonThresholds,
    'http_req_duration{name:purchase}': [`p(95)<${P95_MS}`, `p(99)<${P99_MS}`],
    orders_confirmed: ['rate>0.99'],
    order_confirm_time: ['p(95)<5000'],
  },
};

export function setup() {
  const run = runId();
  const sale = createSale({
    sku: `k6-trickle-${run}`,
    name: 'k6 steady trickle',
    stock: STOCK,
    perUserLimit: 1,
  });
  return { saleId: sale.id, run };
}

// Polls the order until it leaves `pending` or the deadline passes; returns the last answer.
function waitForOrder(orderId, token) {
  const deadline = Date.now() + CONFIRM_TIMEOUT_S * 1000;
  for (;;) {
    const res = getOrder(orderId, { token });
    const body = parseJson(res);
    if (res.status === 200 && body && body.status !== 'pending') return { res, body };
    if (res.status !== 200 && res.status < 500 && res.status !== 0) return { res, body };
    if (Date.now() >= deadline) return { res, body };
    sleep(POLL_INTERVAL_S);
  }
}

export default function (data) {
  const iteration = exec.scenario.iterationInTest;
  const token = buyerToken(`trickle-${data.run}-${iteration}`);
  const res = purchase(data.saleId, { token });
  const body = parseJson(res);
  const accepted = check(res, {
    'purchase accepted (202)': (r) => r.status === 202,
    '202 carries a pending order': () => Boolean(body && body.orderId && body.status === 'pending'),
  });
  if (!accepted || iteration % SAMPLE_EVERY !== 0) return;

  const started = Date.now();
  const { res: last, body: order } = waitForOrder(body.orderId, token);
  const confirmed = Boolean(order && order.status === 'confirmed');
  ordersConfirmed.add(confirmed);
  if (confirmed) confirmTime.add(Date.now() - started);
  check(order, {
    'own order readable (200)': () => last.status === 200,
    'sampled order confirmed': () => confirmed,
    'order belongs to the sale': (o) => Boolean(o && String(o.saleId) === String(data.saleId)),
  });
}
