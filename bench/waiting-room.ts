// The waiting room's measure (issue #23 item 8; bench/README.md "Waiting room"): a room of
// `buyers` who joined before the start sells `stock` units. Run by `npm run bench:room`
// (bench/waiting-room-run.ts) on processes of its own; `measureWaitingRoom` takes the running
// system, so the full bench can register it as one more measure.
import { Redis } from 'ioredis';
import type pg from 'pg';
import { load, loadAtRate } from './load.js';
import { routeBuckets, type FlatResult } from './waiting-room-load.js';
import { lineBeforeStart, roundsSeconds } from './waiting-room-line.js';
import { sellThroughRoom } from './waiting-room-crowd.js';
import { createSale } from './sale.js';
import { roomKeys } from '../src/gate/keys.js';
import { eventLoopLag, quantilesBetween } from './prom-histogram.js';
import { sampleCrowd } from './crowd-sampler.js';

export type RoomBench = {
  apiUrls: string[];
  bareUrls: string[];
  adminToken: string;
  redisUrl: string;
  redisPrefix: string;
  tokens: readonly string[];
  // The processes behind bareUrls and apiUrls: their CPU per answer is compared (/proc).
  barePids: number[];
  apiPids: number[];
  buyers: number;
  stock: number;
  seconds: number;
  connections: number;
  log: (message: string) => void;
  // Waits until every order accepted so far is confirmed: measures start on a quiet system.
  settle: () => Promise<void>;
};

const purchaseRoute = '/sales/:saleId/purchase';

// Every order accepted so far written: the units sold stop moving for two seconds.
export async function settle(db: pg.Pool): Promise<void> {
  let last = -1;
  let stillSince = Date.now();
  for (;;) {
    const { rows } = await db.query<{ sold: string }>(
      'SELECT COALESCE(SUM(sold), 0) AS sold FROM sales',
    );
    const sold = Number(rows[0]?.sold ?? 0);
    if (sold !== last) [last, stillSince] = [sold, Date.now()];
    else if (Date.now() - stillSince > 2_000) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function createRoomSale(b: RoomBench, sku: string, startsAt: Date): Promise<number> {
  const response = await fetch(`${b.apiUrls[0]}/admin/sales`, {
    method: 'POST',
    headers: { authorization: `Bearer ${b.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      sku,
      name: sku,
      stock: b.stock,
      perUserLimit: 1,
      startsAt: startsAt.toISOString(),
      // Idle drop at its longest: the driver asks for a place far less often than a page would.
      waitingRoom: { passSeconds: 300, idleSeconds: 600 },
    }),
  });
  if (response.status !== 201) throw new Error(`create room sale: ${response.status}`);
  return ((await response.json()) as { id: number }).id;
}

// Bytes of every key of the room (MEMORY USAGE, every element counted) per place in line.
async function roomBytes(b: RoomBench, saleId: number): Promise<number> {
  const redis = new Redis(b.redisUrl);
  try {
    let total = 0;
    let cursor = '0';
    do {
      const [nextCursor, keys] = await redis.scan(
        cursor,
        'MATCH',
        `${b.redisPrefix}:{sale:${saleId}}:room*`,
        'COUNT',
        1000,
      );
      cursor = nextCursor;
      for (const key of keys) total += (await redis.memory('USAGE', key, 'SAMPLES', 0)) ?? 0;
    } while (cursor !== '0');
    return total;
  } finally {
    redis.disconnect();
  }
}

// The buyers (indexes of their tickets) in the order the draw ranked them: the rank each one's
// first poll after the start would tell them (bench/waiting-room-crowd.ts). Waits for the draw.
async function drawnOrder(b: RoomBench, saleId: number, tickets: readonly (string | undefined)[]) {
  const byPlace = new Map<number, number>();
  tickets.forEach((ticket, i) => ticket && byPlace.set(Number(ticket.split('.')[1]), i));
  const redis = new Redis(b.redisUrl);
  try {
    const key = roomKeys(b.redisPrefix, saleId).order;
    let order: Buffer | null = null;
    while (!(order = await redis.getBuffer(key))) await new Promise((r) => setTimeout(r, 20));
    const byRank: number[] = [];
    for (let at = 0; at + 4 <= order.length; at += 4) {
      const buyer = byPlace.get(order.readUInt32LE(at));
      if (buyer !== undefined) byRank.push(buyer);
    }
    return byRank;
  } finally {
    redis.disconnect();
  }
}

// The purchase path's p99 (server side, accepted answers) at half of what it sustains flat out.
async function halfCapacity(b: RoomBench) {
  const metrics = b.apiUrls.map((url) => `${url}/metrics`);
  const sale = await createSale(b.apiUrls[0]!, b.adminToken, 'room-reference', 10_000_000, 1_000);
  const spec = { baseUrl: b.apiUrls, path: `/sales/${sale}/purchase`, tokens: b.tokens };
  const flat = await load({
    ...spec,
    rotate: true,
    connections: b.connections,
    seconds: b.seconds,
  });
  const capacity = flat.rate(202);
  b.log(`(room) purchase capacity ${Math.round(capacity)}/s ${JSON.stringify(flat.byStatus)}`);
  await b.settle();
  const before = await routeBuckets(metrics, purchaseRoute, '202');
  const half = await loadAtRate({ ...spec, rotate: true }, Math.round(capacity / 2), b.seconds);
  const lag = await eventLoopLag(metrics);
  const [p99] = quantilesBetween(before, await routeBuckets(metrics, purchaseRoute, '202'), [0.99]);
  await b.settle();
  return {
    capacityPerSecond: Math.round(capacity),
    halfRatePerSecond: Math.round(half.rate(202)),
    serverP99Ms: p99 === null || p99 === undefined ? null : p99 * 1000,
    clientP99Ms: half.latency.p99,
    eventLoopLagMs: lag,
  };
}

// A step's CPU per answer: the API's, and the driver's (this process), which shares the cores.
const cpuOf = (step: { cpuUsPerAnswer: number; driverCpuUsPerAnswer: number }) => ({
  cpuUsPerAnswer: step.cpuUsPerAnswer,
  driverCpuUsPerAnswer: step.driverCpuUsPerAnswer,
});

export async function measureWaitingRoom(b: RoomBench) {
  b.log('(room) the purchase path flat out, then at half of it');
  const reference = await halfCapacity(b);
  // The start leaves time for every join at a pessimistic 800 a second, and the rounds of the
  // polls and of the two bare ceilings (./waiting-room-line.ts).
  const startsAt = new Date(Date.now() + (b.buyers / 800 + roundsSeconds(b) + 10) * 1000);
  const saleId = await createRoomSale(b, 'room-sale', startsAt);
  b.log(`(room) ${b.buyers} buyers join before the start (${startsAt.toISOString()})`);
  const line = await lineBeforeStart(b, saleId, () => roomBytes(b, saleId));
  const { join, joined, tickets, bytes, poll } = line;
  const lateBy = Date.now() - startsAt.getTime();
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, -lateBy)));
  b.log(`(room) the start: the crowd polls and buys when admitted`);
  const metrics = b.apiUrls.map((url) => `${url}/metrics`);
  const before = await routeBuckets(metrics, purchaseRoute, '202');
  const byRank = await drawnOrder(b, saleId, tickets);
  const stopSampling = sampleCrowd(metrics[0]!);
  const crowd = await sellThroughRoom({
    apiUrls: b.apiUrls,
    saleId,
    tokens: b.tokens,
    tickets,
    byRank,
    stock: b.stock,
    concurrency: b.connections,
    timeoutMs: 600_000,
  });
  await stopSampling();
  const crowdLag = await eventLoopLag(metrics);
  const after = await routeBuckets(metrics, purchaseRoute, '202');
  const [roomP99] = quantilesBetween(before, after, [0.99]);
  await b.settle();
  b.log(`(room) the same sale without a room: ${b.buyers} buyers flat out`);
  const withoutRoom = await selloutWithoutRoom(b);
  const roomSelloutMs = crowd.lastSoldAt - startsAt.getTime();
  const roomP99Ms = roomP99 === null || roomP99 === undefined ? null : roomP99 * 1000;
  return {
    buyers: b.buyers,
    stock: b.stock,
    joinedBeforeStart: lateBy <= 0,
    // The median pair of each step and its ceiling (./waiting-room-line.ts), and every pair.
    bare: {
      joinPerSecond: join.bare.perSecond,
      pollPerSecond: poll.bare.perSecond,
      pollCpuUsPerAnswer: poll.bare.cpuUsPerAnswer,
      joinCpuUsPerAnswer: join.bare.cpuUsPerAnswer,
      pollDriverCpuUsPerAnswer: poll.bare.driverCpuUsPerAnswer,
      joinDriverCpuUsPerAnswer: join.bare.driverCpuUsPerAnswer,
    },
    join: { ...summary(join.room), ...cpuOf(join.room), rounds: join.rounds },
    poll: { ...summary(poll.room), ...cpuOf(poll.room), rounds: poll.rounds },
    redisBytesPerPlace: Math.round(bytes / Math.max(1, joined)),
    reference,
    crowd: { ...crowd, roomSelloutMs, serverP99Ms: roomP99Ms, eventLoopLagMs: crowdLag },
    withoutRoom,
    ratios: {
      joinVsBare: round(join.ratio),
      pollVsBare: round(poll.ratio),
      // The bare route's CPU per answer over the API's per poll: 1 would be a poll that costs
      // what the bare route does.
      pollCpuVsBare: round(poll.bare.cpuUsPerAnswer / Math.max(1, poll.room.cpuUsPerAnswer)),
      joinCpuVsBare: round(join.bare.cpuUsPerAnswer / Math.max(1, join.room.cpuUsPerAnswer)),
      purchase503s: crowd.purchaseStatus['503'] ?? 0,
      p99VsHalfCapacity:
        roomP99Ms === null || !reference.serverP99Ms
          ? null
          : round(roomP99Ms / reference.serverP99Ms),
      selloutVsWithoutRoom: round(roomSelloutMs / withoutRoom.lastAcceptedMs),
    },
  };
}

async function selloutWithoutRoom(b: RoomBench) {
  const sale = await createSale(b.apiUrls[0]!, b.adminToken, 'room-sale-without', b.stock);
  const began = Date.now();
  let last = began;
  const result = await load({
    baseUrl: b.apiUrls,
    path: `/sales/${sale}/purchase`,
    tokens: b.tokens,
    rotate: true,
    connections: b.connections,
    amount: b.buyers,
    onResponse: (status) => {
      if (status === 202) last = Date.now();
    },
  });
  return { byStatus: result.byStatus, lastAcceptedMs: last - began };
}

const round = (x: number) => Math.round(x * 100) / 100;

const summary = (result: FlatResult) => ({
  perSecond: result.perSecond,
  byStatus: result.byStatus,
  latencyMs: result.latencyMs,
  errors: result.errors,
});

export type RoomBenchResult = Awaited<ReturnType<typeof measureWaitingRoom>>;
