// Spike sell-out: a sale of STOCK units (default 1000, one per buyer) meets a sudden spike of
// distinct buyers. Every answer must be 202 (reserved), 409 (sold out), 429 (rate limited) or
// a shed 503 (overload, with Retry-After); never more 202s than units; and at the end the
// sale is sold out.
//
//   k6 run k6/spike-sellout.js
//   k6 run -e STOCK=5000 -e PEAK_RATE=5000 k6/spike-sellout.js
//   k6 run -e SHARDS=3 k6/spike-sellout.js   (one hot sale over shards: docs/sharded-sales.md)
//
// The oversell threshold assumes no order fails for good (FAULT_FAIL_RATE=0): a failed order
// returns its unit, which may then legitimately be sold a second time.
import { check } from 'k6';
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

const STOCK = Number(__ENV.STOCK || 1000);
const PEAK_RATE = Number(__ENV.PEAK_RATE || 3000);
const P95_MS = Number(__ENV.P95_MS || 500);
const P99_MS = Number(__ENV.P99_MS || 1000);
const SHARDS = Number(__ENV.SHARDS || 1);

const reserved = new Counter('reserved_orders');
const soldOut = new Counter('sold_out_answers');
const rateLimited = new Counter('rate_limited_answers');

export const options = {
  scenarios: {
    spike: {
      executor: 'ramping-arrival-rate',
      startRate: 20,
      timeUnit: '1s',
      preAllocatedVUs: 300,
      maxVUs: 3000,
      stages: [
        { target: 50, duration: '10s' }, // the doors are about to open
        { target: PEAK_RATE, duration: '5s' }, // the spike
        { target: PEAK_RATE, duration: '30s' }, // the stampede goes on after the sell-out
        { target: 0, duration: '5s' },
      ],
      gracefulStop: '10s',
    },
  },
  thresholds: {
    ...commonThresholds,
    'http_req_duration{name:purchase}': [`p(95)<${P95_MS}`, `p(99)<${P99_MS}`],
    // Never more accepted purchases than units.
    reserved_orders: [`count<=${STOCK}`],
    // The teardown's verdict: the sale really sold out.
    'checks{phase:verify}': ['rate==1'],
  },
};

export function setup() {
  const run = runId();
  const sale = createSale({
    sku: `k6-spike-${run}`,
    name: 'k6 spike sell-out',
    stock: STOCK,
    perUserLimit: 1,
    shards: SHARDS,
  });
  return { saleId: sale.id, run };
}

export default function (data) {
  // A new buyer on every iteration, unique across the whole test.
  const buyer = `spike-${data.run}-${exec.scenario.iterationInTest}`;
  const res = purchase(data.saleId, buyer);
  const code = errorCode(res);

  if (res.status === 202) reserved.add(1);
  else if (res.status === 409) soldOut.add(1);
  else if (res.status === 429) rateLimited.add(1);

  check(res, {
    'answered 202, 409, 429 or shed': (r) =>
      r.status === 202 || r.status === 409 || r.status === 429 || isShed(r),
  });
  if (res.status === 202) {
    const body = parseJson(res);
    check(body, {
      '202 carries a pending order': (b) => Boolean(b && b.orderId && b.status === 'pending'),
    });
  } else if (res.status === 409) {
    // Every buyer is new, so LIMIT_REACHED would be a bug.
    check(code, { '409 is SOLD_OUT': (c) => c === 'SOLD_OUT' });
  }
}

export function teardown(data) {
  const res = getSale(data.saleId, { phase: 'verify' });
  const sale = parseJson(res);
  check(
    sale,
    {
      'sale readable after the spike': (s) => res.status === 200 && s !== null,
      'sale sold out (remaining 0)': (s) => Boolean(s && s.remaining === 0 && s.soldOut === true),
    },
    { phase: 'verify' },
  );
}
