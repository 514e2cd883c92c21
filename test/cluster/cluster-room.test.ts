import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitFor } from '../support/env.js';
import { useRoomSystem } from '../support/room-line.js';
import { assertOracle, type Answer } from '../support/oracle.js';
import { stopRedisServers } from '../support/redis-servers.js';
import { onCluster, startRedisCluster, type RedisCluster } from '../support/redis-cluster.js';
import { inSeconds } from '../support/room.js';
import { roomKeys, saleKeys } from '../../src/gate/keys.js';

// Waiting rooms on a Redis Cluster of three masters of the test's own: each room's keys sit in
// its sale's slot (every script is one slot), rooms of sales on different masters run side by
// side, and each sells exactly through its line.
let cluster: RedisCluster;

beforeAll(async () => {
  cluster = await startRedisCluster(3);
});
// After hooks run last first: the system is closed before its cluster goes.
afterAll(() => stopRedisServers());
const system = useRoomSystem('cluster-room', () => onCluster(cluster));

it('runs rooms of sales on different masters, each in its sale slot, and sells through them', async () => {
  const { env, api, room } = system;
  const prefix = env.config.redis.prefix;
  const sales: { id: number; port: number }[] = [];
  for (let i = 0; sales.length < 2 && i < 40; i++) {
    const created = await api.createSale({
      sku: `cluster-room-${i}`,
      name: 'Room',
      stock: 4,
      startsAt: inSeconds(4),
      waitingRoom: { admitPerSecond: 20 },
    });
    expect(created.status).toBe(201);
    const id = created.body.id as number;
    const master = await cluster.masterOf(saleKeys(prefix, id).sale);
    if (!sales.some((s) => s.port === master.port)) sales.push({ id, port: master.port });
  }
  expect(sales).toHaveLength(2);
  for (const sale of sales) {
    const keys = roomKeys(prefix, sale.id);
    for (const key of [keys.state, keys.buyers, keys.gone, keys.view, keys.lease, keys.seen(1)]) {
      expect((await cluster.masterOf(key)).port, key).toBe(sale.port);
    }
  }

  const answers = new Map<number, Answer[]>();
  await Promise.all(
    sales.map(async (sale) => {
      const buyers = Array.from({ length: 8 }, (_, i) => `cb-${sale.id}-${i}`);
      const tickets = new Map<string, string>();
      for (const buyer of buyers) tickets.set(buyer, (await room.join(sale.id, buyer)).body.ticket);
      const bought: Answer[] = [];
      await waitFor(
        async () => {
          for (const buyer of buyers) {
            if (bought.some((a) => a.buyer === buyer)) continue;
            const place = await room.poll(sale.id, buyer, tickets.get(buyer));
            if (place.body.state !== 'admitted') continue;
            const answer = await room.buy(sale.id, buyer, place.body.pass);
            if (answer.status === 202) {
              bought.push({ status: 202, orderId: answer.body.orderId, buyer, quantity: 1 });
            }
          }
          return bought.length === 4;
        },
        { what: `sale ${sale.id} sold through its room` },
      );
      // Sold out: every other place is told so.
      await waitFor(async () => {
        for (const buyer of buyers.filter((b) => !bought.some((a) => a.buyer === b))) {
          const place = await room.poll(sale.id, buyer, tickets.get(buyer));
          if (place.body.reason !== 'SOLD_OUT') return false;
        }
        return true;
      });
      answers.set(sale.id, bought);
    }),
  );
  for (const sale of sales) await assertOracle(env, sale.id, answers.get(sale.id)!);
});
