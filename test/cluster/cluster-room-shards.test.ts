import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitFor } from '../support/env.js';
import { pool } from '../support/system.js';
import { useRoomSystem } from '../support/room-line.js';
import { assertOracle, type Answer } from '../support/oracle.js';
import { stopRedisServers, type RedisServer } from '../support/redis-servers.js';
import { onCluster, startRedisCluster, type RedisCluster } from '../support/redis-cluster.js';
import { inSeconds, roomClient } from '../support/room.js';
import { roomKeys, roomPartKeys, saleKeys } from '../../src/gate/keys.js';

// The waiting room of a sale over shards on a Redis Cluster of three masters of the test's
// own (docs/waiting-room.md, "Sharded sales"): the line's partitions sit in the shards' slots,
// so the crowd's joins are written on every master, not all on the sale's; and the line still
// draws the prequeue, admits within the bound, lines up late buyers in arrival order, and sells
// exactly the stock.
let cluster: RedisCluster;
const shards = 3;
const early = 150;

beforeAll(async () => {
  cluster = await startRedisCluster(3);
});
// After hooks run last first: the system is closed before its cluster goes.
afterAll(() => stopRedisServers());
const system = useRoomSystem('cluster-room-shards', () => onCluster(cluster));

// HSETs each master ran since its stats were reset: a join writes its buyer's place with one.
const hsets = async (master: RedisServer) => {
  const stats = await master.cli('INFO', 'commandstats');
  return Number(/^cmdstat_hset:calls=(\d+)/m.exec(stats)?.[1] ?? 0);
};

it("spreads a sharded sale's joins over the masters, and sells through its line", async () => {
  const { env, api, room } = system;
  const prefix = env.config.redis.prefix;
  const created = await api.createSale({
    sku: 'cluster-room-shards',
    name: 'Room over shards',
    stock: 6,
    shards,
    startsAt: inSeconds(12),
    waitingRoom: { admitPerSecond: 4 },
  });
  expect(created.status).toBe(201);
  const saleId = created.body.id as number;
  const saleMaster = await cluster.masterOf(saleKeys(prefix, saleId).sale);
  const partMasters = await Promise.all(
    Array.from({ length: shards }, (_, part) =>
      cluster.masterOf(roomPartKeys(prefix, saleId, part, shards).buyers),
    ),
  );
  expect(new Set(partMasters.map((m) => m.port)).size).toBeGreaterThan(1);

  await Promise.all(cluster.masters.map((m) => m.cli('CONFIG', 'RESETSTAT')));
  const tickets = new Map<string, string>();
  const buyers = Array.from({ length: early }, (_, i) => `crs-${i}`);
  await pool(
    buyers.map((buyer) => async () => {
      const joined = await room.join(saleId, buyer);
      expect(joined.status, buyer).toBe(200);
      tickets.set(buyer, joined.body.ticket);
    }),
    10,
  );
  // Where the joins were written: each master holds a partition's buyers and ran its share of
  // the writes; the sale's own master is not doing all of them.
  const written = await Promise.all(cluster.masters.map(hsets));
  const total = written.reduce((a, b) => a + b, 0);
  expect(total).toBeGreaterThanOrEqual(early);
  for (const [i, count] of written.entries()) {
    expect(count / total, `master ${cluster.masters[i]!.port}`).toBeGreaterThan(0.15);
  }
  const saleShare = written[cluster.masters.indexOf(saleMaster)]! / total;
  console.log(
    `HSETs by master: ${written.join(', ')} (the sale's master ${(saleShare * 100).toFixed(0)} %)`,
  );
  expect(saleShare).toBeLessThan(0.6);
  const held = await Promise.all(
    partMasters.map((master, part) =>
      master.cli('HLEN', roomPartKeys(prefix, saleId, part, shards).buyers),
    ),
  );
  expect(held.map(Number).reduce((a, b) => a + b, 0)).toBe(early);
  expect(held.every((count) => Number(count) > 0)).toBe(true);

  await waitFor(async () => Date.parse(created.body.startsAt as string) < Date.now() - 500, {
    what: 'the start',
    timeoutMs: 30_000,
  });
  await expectLateInArrivalOrder(room, saleId);
  const bought = await sellThrough(room, saleId, buyers, tickets);
  await assertOracle(env, saleId, bought);
});

// Buyers who join after the start, an admitter step between each two, line up in the order
// they came, whichever partitions they fall in.
async function expectLateInArrivalOrder(room: ReturnType<typeof roomClient>, saleId: number) {
  const late = Array.from({ length: 6 }, (_, i) => `crs-late-${i}`);
  const tickets: string[] = [];
  const view = roomKeys(system.env.config.redis.prefix, saleId).view;
  const viewMaster = await cluster.masterOf(view);
  for (const buyer of late) {
    tickets.push((await room.join(saleId, buyer)).body.ticket);
    // A step that began after this join has published its view.
    const joinedAt = Date.now();
    await waitFor(async () => {
      const doc = JSON.parse((await viewMaster.cli('GET', view)) || '{}') as { at?: number };
      return (doc.at ?? 0) > joinedAt;
    });
  }
  const positions = async () =>
    Promise.all(late.map(async (b, i) => (await room.poll(saleId, b, tickets[i])).body.position));
  const agreed = await waitFor(
    async () => {
      const [first, second] = [await positions(), await positions()];
      const known = first.every((p) => typeof p === 'number');
      return known && JSON.stringify(first) === JSON.stringify(second) && (first as number[]);
    },
    { what: 'positions of the late buyers', timeoutMs: 30_000 },
  );
  expect([...agreed].sort((a, b) => a - b)).toEqual(agreed);
  expect(new Set(agreed).size).toBe(late.length);
}

async function sellThrough(
  room: ReturnType<typeof roomClient>,
  saleId: number,
  buyers: string[],
  tickets: Map<string, string>,
): Promise<Answer[]> {
  const bought: Answer[] = [];
  await waitFor(
    async () => {
      await pool(
        buyers.map((buyer) => async () => {
          if (bought.some((a) => a.buyer === buyer)) return;
          const place = await room.poll(saleId, buyer, tickets.get(buyer));
          if (place.body.state !== 'admitted') return;
          const answer = await room.buy(saleId, buyer, place.body.pass);
          if (answer.status === 202) {
            bought.push({ status: 202, orderId: answer.body.orderId, buyer, quantity: 1 });
          }
        }),
        10,
      );
      return bought.length === 6;
    },
    { what: 'the sale sold through its room', timeoutMs: 90_000 },
  );
  await waitFor(
    async () => {
      const unserved = buyers.filter((b) => !bought.some((a) => a.buyer === b)).slice(0, 20);
      for (const buyer of unserved) {
        const place = await room.poll(saleId, buyer, tickets.get(buyer));
        if (place.body.reason !== 'SOLD_OUT') return false;
      }
      return true;
    },
    { what: 'every other place told SOLD_OUT', timeoutMs: 30_000 },
  );
  return bought;
}
