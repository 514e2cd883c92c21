import { expect, it } from 'vitest';
import { mastersKnown, waitFor } from '../support/env.js';
import { assertOracle } from '../support/oracle.js';
import {
  createRoomSale,
  inState,
  joinAll,
  untilTwoAdmitted,
  useRoomSystem,
  type Place,
  type RoomClient,
} from '../support/room-line.js';
import { createRedis, dataNodes } from '../../src/redis/connection.js';
import { roomKeys, roomPartKeys } from '../../src/gate/keys.js';
import { partOfBuyer } from '../../src/room/partitions.js';
import type { Config } from '../../src/config.js';

const shards = 3;

// A sale over shards loses its whole room at once mid-line: the room's own keys (cursor,
// batches, drawn order, lease, view) and every partition's (counter, buyers, bitmaps), on
// whichever masters they sit. The line comes back from PostgreSQL and the buyers' tickets
// (docs/waiting-room.md, "Sharded sales" and "Where it stops", the ticket): nobody is sent to
// the back, no pass is given that the cursor had not earned, a newcomer lines up behind
// everyone, and the admitted buy. Runs on one Redis, and on a cluster in the
// redis-cluster-sharded leg of .ci/run.
// a sale over shards: Redis forgets its whole room
const system = useRoomSystem('sharded-room-loss');

it('gives every place back from its ticket in the same order, and sells only to the admitted', async () => {
  const { env, api, room } = system;
  const prefix = env.config.redis.prefix;
  const saleId = await createRoomSale(
    api,
    'sharded-room-loss',
    100,
    { admitPerSecond: 1 },
    { startsIn: 3, shards },
  );
  const buyers = Array.from({ length: 15 }, (_, i) => `srl-${i}`);
  expect(new Set(buyers.map((b) => partOfBuyer(b, shards))).size).toBe(shards);
  const tickets = await joinAll(room, saleId, buyers);
  // Each poll's ticket is the one held from then on: the line is rebuilt from them.
  const { poll, before } = await untilTwoAdmitted(room, saleId, tickets);
  const admittedBefore = inState(before, 'admitted');
  const waitingOrder = byPosition(before, 'waiting');

  const lost = await forgetRoom(env.config, saleId);
  const parts = Array.from({ length: shards }, (_, p) => roomPartKeys(prefix, saleId, p, shards));
  expect(lost).toEqual(expect.arrayContaining([roomKeys(prefix, saleId).state]));
  expect(lost).toEqual(expect.arrayContaining(parts.flatMap((k) => [k.state, k.buyers])));
  const lostAtMs = Date.now();

  // Every buyer still has their place: the admitted their pass, the others their order.
  const after = await poll();
  for (const buyer of admittedBefore) expect(after.get(buyer)!.state, buyer).toBe('admitted');
  const stillWaiting = waitingOrder.filter((b) => after.get(b)!.state === 'waiting');
  const positions = stillWaiting.map((b) => after.get(b)!.position!);
  expect(positions).toEqual([...positions].sort((a, b) => a - b));
  // Once rebuilt: no one but the buyers at the front was admitted meanwhile (1 a second, and
  // the step PostgreSQL had written before Redis was told).
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  const rebuilt = await poll();
  const earned = Math.ceil((Date.now() - lostAtMs) / 1000) + 2;
  const allowed = new Set([...admittedBefore, ...waitingOrder.slice(0, earned)]);
  for (const buyer of inState(rebuilt, 'admitted')) expect(allowed.has(buyer), buyer).toBe(true);
  const order = waitingOrder.filter((b) => rebuilt.get(b)!.state === 'waiting');
  expect(order.length).toBeGreaterThan(waitingOrder.length - earned);
  expect(byPosition(rebuilt, 'waiting')).toEqual(order);
  expect(order.map((b) => rebuilt.get(b)!.position)).toEqual(order.map((_, i) => i + 1));

  // The tickets' polls put every partition's buyers back in Redis.
  await expectBackInPartitions(env.config, saleId, order);
  const last = order.at(-1)!;
  await expectNewcomerLast(room, saleId, last, tickets.get(last)!);

  // An admitted buyer buys with the pass given before the loss.
  const buyer = admittedBefore[0]!;
  const bought = await room.buy(saleId, buyer, rebuilt.get(buyer)!.pass);
  expect(bought.status, JSON.stringify(bought.body)).toBe(202);
  await assertOracle(env, saleId, [
    { status: 202, orderId: bought.body.orderId, buyer, quantity: 1 },
  ]);
});

// A newcomer, joining after the loss, lines up behind the last of the line (read when the
// last one's position is the same before and after the newcomer's). Right behind, to within
// the view's rounding: a poll counts the places given up ahead of it in blocks of
// ceil(top / 8192) ranks (src/room/walk.ts), and the restore numbers the newcomer's place some
// P x 10,000 up (30,000 here: blocks of 4), so up to 3 more may show ahead of it.
async function expectNewcomerLast(
  room: RoomClient,
  saleId: number,
  last: string,
  lastTicket: string,
) {
  const joined = await room.join(saleId, 'srl-late');
  expect(joined.status).toBe(200);
  const [first, late] = await waitFor(
    async () => {
      const before = (await room.poll(saleId, last, lastTicket)).body as Place;
      const late = (await room.poll(saleId, 'srl-late', joined.body.ticket)).body as Place;
      const again = (await room.poll(saleId, last, lastTicket)).body as Place;
      const still = before.state === 'waiting' && again.position === before.position;
      return still && late.state === 'waiting' && ([before.position!, late.position!] as const);
    },
    { what: 'the newcomer and the last of the line read at one view' },
  );
  expect(late, `last ${first}, newcomer ${late}`).toBeGreaterThan(first);
  expect(late, `last ${first}, newcomer ${late}`).toBeLessThanOrEqual(first + 4);
}

// Each buyer of `order` back in its partition's buyers hash (the keys of the buyer's home
// shard): a poll without the ticket would find them.
async function expectBackInPartitions(config: Config, saleId: number, order: string[]) {
  const redis = await mastersKnown(createRedis(config));
  try {
    for (const buyer of order) {
      const part = partOfBuyer(buyer, shards);
      const k = roomPartKeys(config.redis.prefix, saleId, part, shards);
      await waitFor(async () => (await redis.hexists(k.buyers, buyer)) === 1, {
        what: `${buyer} back in partition ${part}`,
      });
    }
  } finally {
    redis.disconnect();
  }
}

// The buyers of `places` in `state`, front first.
function byPosition(places: Map<string, Place>, state: string): string[] {
  return [...places]
    .filter(([, p]) => p.state === state)
    .sort((a, b) => a[1].position! - b[1].position!)
    .map(([buyer]) => buyer);
}

// Every key of the sale's room, its own and its partitions', found on every master and
// unlinked at once (one call per key, all in flight together): what a Redis that restarted
// empty, or a cluster whose masters all did, leaves of it. Answers the keys it unlinked.
async function forgetRoom(config: Config, saleId: number): Promise<string[]> {
  const prefix = config.redis.prefix;
  const own = roomKeys(prefix, saleId).state.replace(/state$/, '');
  const ofTheRoom = (key: string) => key.startsWith(own) || key.includes(`:{sale:${saleId}:shard:`);
  const redis = await mastersKnown(createRedis(config));
  try {
    // By master: on a cluster the room's keys and its partitions' sit on several of them.
    const byNode = await Promise.all(
      dataNodes(redis).map(async (node) => {
        const found: string[] = [];
        let cursor = '0';
        do {
          const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}:{*}:room*`);
          cursor = next;
          found.push(...keys.filter(ofTheRoom));
        } while (cursor !== '0');
        return found;
      }),
    );
    if (byNode.length > 1)
      expect(byNode.filter((keys) => keys.length > 0).length).toBeGreaterThan(1);
    const room = byNode.flat();
    expect(room.some((k) => k.startsWith(own) && k.endsWith(':view'))).toBe(true);
    await Promise.all(room.map((key) => redis.unlink(key)));
    return room;
  } finally {
    redis.disconnect();
  }
}
