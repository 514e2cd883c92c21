// Waiting room: a crowd of CROWD buyers (default 2000) joins the line of a STOCK-unit sale
// (default 500, one per buyer) before it starts, polls at the pace the room asks, and buys
// with its pass when admitted; LATE_RATE new buyers a second (default 20) join after the start
// and line up behind them (API.md, Waiting room; docs/waiting-room.md).
//
// The verdicts: the crowd joins fast and polls cheaply; an admitted buyer's purchase is never
// refused for its pass (403 NOT_ADMITTED) and never shed; never more 202s than units; every
// buyer hears how it ended (admitted, or the line closed SOLD_OUT) before MAX_WAIT seconds;
// and at the end the sale is sold out.
//
//   k6 run k6/waiting-room.js
//   k6 run -e CROWD=20000 -e STOCK=2000 -e LEAD=60 k6/waiting-room.js
//   k6 run -e ADMIT_PER_SECOND=200 k6/waiting-room.js   (a fixed outflow instead of the adaptive one)
import { check, sleep } from 'k6';
import exec from 'k6/execution';
import http from 'k6/http';
import { Counter, Trend } from 'k6/metrics';
import {
  BASE_URL,
  ADMIN_TOKEN,
  buyerToken,
  commonThresholds,
  errorCode,
  getSale,
  isShed,
  parseJson,
  runId,
  trackServerErrors,
} from './lib.js';

const CROWD = Number(__ENV.CROWD || 2000);
const STOCK = Number(__ENV.STOCK || 500);
// Seconds from setup to the sale's start: the crowd joins in them.
const LEAD = Number(__ENV.LEAD || 30);
const LATE_RATE = Number(__ENV.LATE_RATE || 20);
const MAX_WAIT = Number(__ENV.MAX_WAIT || 180);
const ADMIT_PER_SECOND = __ENV.ADMIT_PER_SECOND ? Number(__ENV.ADMIT_PER_SECOND) : undefined;

const reserved = new Counter('reserved_orders');
const admitted = new Counter('admitted_buyers');
const toldClosed = new Counter('told_closed');
// Buyers a pass did not let through, and buyers still waiting at MAX_WAIT: both must be 0.
const notAdmitted = new Counter('not_admitted_with_pass');
const shedPurchases = new Counter('shed_purchases');
const stranded = new Counter('stranded_buyers');
// From the later of the start and the join to the pass.
const timeInLine = new Trend('time_in_line', true);

export const options = {
  scenarios: {
    // One buyer per VU, all joining at once, LEAD seconds before the start.
    crowd: {
      executor: 'per-vu-iterations',
      vus: CROWD,
      iterations: 1,
      maxDuration: `${LEAD + MAX_WAIT + 30}s`,
      exec: 'buyer',
    },
    // Arrivals after the start: FIFO behind the drawn crowd.
    latecomers: {
      executor: 'constant-arrival-rate',
      rate: LATE_RATE,
      timeUnit: '1s',
      duration: '20s',
      startTime: `${LEAD + 5}s`,
      preAllocatedVUs: 50,
      maxVUs: 2000,
      exec: 'buyer',
    },
  },
  thresholds: {
    ...commonThresholds,
    // The room answers a crowd: joins and polls stay cheap while it waits.
    'http_req_duration{name:queue_join}': ['p(99)<1000'],
    'http_req_duration{name:queue_poll}': ['p(99)<300'],
    // Admitted buyers meet a purchase path that is not overloaded: no shedding for them.
    'http_req_duration{name:purchase}': ['p(99)<1000'],
    shed_purchases: ['count==0'],
    reserved_orders: [`count<=${STOCK}`],
    admitted_buyers: [`count>=${STOCK}`],
    not_admitted_with_pass: ['count==0'],
    stranded_buyers: ['count==0'],
    'checks{phase:verify}': ['rate==1'],
  },
};

export function setup() {
  const run = runId();
  const startsAt = new Date(Date.now() + LEAD * 1000).toISOString();
  const waitingRoom = { passSeconds: 60, idleSeconds: 30 };
  if (ADMIT_PER_SECOND) waitingRoom.admitPerSecond = ADMIT_PER_SECOND;
  const body = {
    sku: `k6-room-${run}`,
    name: 'k6 waiting room',
    stock: STOCK,
    perUserLimit: 1,
    startsAt,
    waitingRoom,
  };
  const res = http.post(`${BASE_URL}/admin/sales`, JSON.stringify(body), {
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${ADMIN_TOKEN}` },
    tags: { name: 'create_sale' },
  });
  const sale = parseJson(res);
  if (res.status !== 201 || !sale) throw new Error(`POST /admin/sales: ${res.status} ${res.body}`);
  return { saleId: sale.id, run, startsAtMs: Date.parse(startsAt) };
}

const queueUrl = (saleId) => `${BASE_URL}/sales/${encodeURIComponent(saleId)}/queue`;

export function buyer(data) {
  const name = `room-${data.run}-${exec.scenario.name}-${exec.scenario.iterationInTest}`;
  const auth = { Authorization: `Bearer ${buyerToken(name)}` };
  const joinedAt = Date.now();
  let res = trackServerErrors(
    http.post(queueUrl(data.saleId), null, { headers: auth, tags: { name: 'queue_join' } }),
  );
  if (res.status === 409 && errorCode(res) === 'SOLD_OUT') {
    toldClosed.add(1);
    return;
  }
  if (!check(res, { 'joined (200)': (r) => r.status === 200 })) return;
  let place = parseJson(res);
  check(place, {
    'a place before the start is in the prequeue': (p) =>
      joinedAt >= data.startsAtMs || p.state === 'prequeue',
  });
  while (place.state === 'prequeue' || place.state === 'waiting') {
    if (Date.now() - joinedAt > MAX_WAIT * 1000) {
      stranded.add(1);
      return;
    }
    sleep(place.pollAfterMs / 1000);
    res = trackServerErrors(
      http.get(queueUrl(data.saleId), {
        headers: { ...auth, 'X-Queue-Ticket': place.ticket },
        tags: { name: 'queue_poll' },
      }),
    );
    if (!check(res, { 'place polled (200)': (r) => r.status === 200 })) return;
    place = parseJson(res);
  }
  if (place.state === 'closed') {
    toldClosed.add(1);
    check(place, { 'a closed line says why': (p) => Boolean(p.reason) });
    return;
  }
  admitted.add(1);
  timeInLine.add(Date.now() - Math.max(joinedAt, data.startsAtMs));
  buyWithPass(data.saleId, auth, place.pass);
}

function buyWithPass(saleId, auth, pass) {
  const res = trackServerErrors(
    http.post(`${BASE_URL}/sales/${encodeURIComponent(saleId)}/purchase`, '{"quantity":1}', {
      headers: { ...auth, 'Content-Type': 'application/json', 'X-Queue-Pass': pass },
      tags: { name: 'purchase' },
    }),
  );
  if (res.status === 202) reserved.add(1);
  if (res.status === 403 && errorCode(res) === 'NOT_ADMITTED') notAdmitted.add(1);
  if (isShed(res)) shedPurchases.add(1);
  check(res, {
    // Admitted while units were left: a 409 SOLD_OUT is possible (the overbook), a shed is not.
    'an admitted buyer buys (202) or hears SOLD_OUT': (r) =>
      r.status === 202 || (r.status === 409 && errorCode(r) === 'SOLD_OUT'),
  });
}

export function teardown(data) {
  const res = getSale(data.saleId, { phase: 'verify' });
  const sale = parseJson(res);
  check(
    sale,
    {
      'sale readable after the crowd': (s) => res.status === 200 && s !== null,
      'sale sold out (remaining 0)': (s) => Boolean(s && s.remaining === 0 && s.soldOut),
      'the room admitted at least one buyer per unit': (s) =>
        Boolean(s && s.waitingRoom && s.waitingRoom.admitted >= STOCK),
    },
    { phase: 'verify' },
  );
}
