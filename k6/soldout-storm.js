// Sold-out storm: a sale of one unit is bought out in setup(), then RATE purchases per second
// (default 5000) from distinct buyers hit it. Each must be refused quickly with 409 SOLD_OUT
// (answered from the API's local sold-out cache, without Redis), and none may be accepted.
// Requests shed for overload (503 with Retry-After) are counted apart, in `shed`.
//
//   k6 run k6/soldout-storm.js
//   k6 run -e RATE=2000 -e DURATION=1m k6/soldout-storm.js
import { check, fail } from 'k6';
import exec from 'k6/execution';
import { Counter } from 'k6/metrics';
import {
  commonThresholds,
  createSale,
  errorCode,
  getSale,
  isShed,
  parseJson,
  purchase,
  runId,
} from './lib.js';

const RATE = Number(__ENV.RATE || 5000);
const DURATION = __ENV.DURATION || '30s';
const P95_MS = Number(__ENV.P95_MS || 100);
const P99_MS = Number(__ENV.P99_MS || 250);

const unexpectedReservations = new Counter('unexpected_reservations');

export const options = {
  scenarios: {
    storm: {
      executor: 'constant-arrival-rate',
      rate: RATE,
      timeUnit: '1s',
      duration: DURATION,
      preAllocatedVUs: Math.min(1000, RATE),
      maxVUs: Math.max(1000, RATE),
      gracefulStop: '10s',
    },
  },
  thresholds: {
    ...commonThresholds,
    'http_req_duration{name:purchase}': [`p(95)<${P95_MS}`, `p(99)<${P99_MS}`],
    // The single unit is gone: nobody else may get a 202.
    unexpected_reservations: ['count==0'],
  },
};

export function setup() {
  const run = runId();
  const sale = createSale({
    sku: `k6-storm-${run}`,
    name: 'k6 sold-out storm',
    stock: 1,
    perUserLimit: 1,
  });

  const winner = purchase(sale.id, `storm-${run}-winner`, { tags: { phase: 'setup' } });
  if (winner.status !== 202) {
    fail(`buying the only unit answered ${winner.status}: ${winner.body}`);
  }
  const after = parseJson(getSale(sale.id, { phase: 'setup' }));
  if (!after || after.remaining !== 0) {
    fail(`sale ${sale.id} is not sold out after setup: ${JSON.stringify(after)}`);
  }
  return { saleId: sale.id, run };
}

export default function (data) {
  const buyer = `storm-${data.run}-${exec.scenario.iterationInTest}`;
  const res = purchase(data.saleId, buyer);
  if (res.status === 202) unexpectedReservations.add(1);
  if (isShed(res)) return;
  check(res, {
    'answered 409 SOLD_OUT': (r) => r.status === 409 && errorCode(r) === 'SOLD_OUT',
  });
}
