import { expect, it } from 'vitest';
import { waitFor } from '../support/env.js';
import { useRoomSystemOnOwnRedis } from '../support/room-line.js';
import { assertOracle } from '../support/oracle.js';
import { inSeconds } from '../support/room.js';
import { homeOfBuyer, roomPartKeys } from '../../src/gate/keys.js';

type Place = { state: string; position: number | null; pass?: string; ticket: string };

// The line of a sale over shards is in partitions (docs/waiting-room.md, "Sharded sales"); on
// a cluster one master may forget its partition while the others keep theirs. Here one
// partition's keys are deleted mid-sale (a Redis of the test's own): it is restored on its
// own, its buyers' tickets give their places back, the line keeps its order, and a newcomer
// lines up behind everyone.
// a sale over shards: its room loses one partition
const shards = 3;
const system = useRoomSystemOnOwnRedis('sharded-room');

it('restores a lost partition from the tickets, keeping every place and the order', async () => {
  const { env, api, room } = system;
  const saleId = (
    await api.createSale({
      sku: 'sharded-room',
      name: 'S',
      stock: 100,
      shards,
      startsAt: inSeconds(3),
      waitingRoom: { admitPerSecond: 1 },
    })
  ).body.id as number;
  const buyers = Array.from({ length: 15 }, (_, i) => `sr-${i}`);
  expect(new Set(buyers.map((b) => homeOfBuyer(b, shards))).size).toBe(shards);
  const tickets = new Map<string, string>();
  for (const buyer of buyers) tickets.set(buyer, (await room.join(saleId, buyer)).body.ticket);
  const poll = async () => {
    const all = new Map<string, Place>();
    for (const buyer of buyers) {
      const answer = await room.poll(saleId, buyer, tickets.get(buyer));
      expect(answer.status, `${buyer} after ${answer.body.error?.code}`).toBe(200);
      all.set(buyer, answer.body as Place);
      tickets.set(buyer, answer.body.ticket as string);
    }
    return all;
  };
  const before = await waitFor(
    async () => {
      const all = await poll();
      return [...all.values()].filter((p) => p.state === 'admitted').length >= 2 && all;
    },
    { what: 'two admitted' },
  );
  const admittedBefore = [...before].filter(([, p]) => p.state === 'admitted').map(([b]) => b);
  const waitingOrder = [...before]
    .filter(([, p]) => p.state === 'waiting')
    .sort((a, b) => a[1].position! - b[1].position!)
    .map(([buyer]) => buyer);

  const lost = homeOfBuyer(waitingOrder[0]!, shards);
  const k = roomPartKeys(env.config.redis.prefix, saleId, lost, shards);
  expect(Number(await system.redis.cli('DEL', k.state, k.buyers, k.gone))).toBeGreaterThanOrEqual(
    2,
  );

  await waitFor(async () => (await system.redis.cli('HEXISTS', k.state, 'inc')) === '1', {
    what: 'the partition restored',
  });
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  const after = await poll();
  for (const buyer of admittedBefore) expect(after.get(buyer)!.state, buyer).toBe('admitted');
  const order = waitingOrder.filter((b) => after.get(b)!.state === 'waiting');
  expect(order.length).toBeGreaterThan(waitingOrder.length - 4);
  // Still in the order they held, the admitted ones at the front of it.
  expect(order).toEqual(waitingOrder.slice(waitingOrder.length - order.length));
  expect(order.map((b) => after.get(b)!.position)).toEqual(order.map((_, i) => i + 1));
  // The tickets' polls put the lost partition's buyers back in Redis too.
  const back = order.find((b) => homeOfBuyer(b, shards) === lost)!;
  await waitFor(async () => (await system.redis.cli('HEXISTS', k.buyers, back)) === '1', {
    what: `${back} back in its partition`,
  });
  expect((await room.poll(saleId, back)).body.position).toBe(after.get(back)!.position);

  const late = await room.join(saleId, 'sr-late');
  expect(late.body.position).toBeGreaterThan(order.length - 2);
  await assertOracle(env, saleId, []);
});
