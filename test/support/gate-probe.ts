import {
  homeKeys,
  homeOfBuyer,
  saleEventsChannel,
  saleKeys,
  type HomeKeys,
} from '../../src/gate/keys.js';
import { homeOfOrder } from '../../src/gate/order-id.js';
import type { Home } from '../../src/gate/scripts/home.js';
import type { ScriptTarget } from '../../src/gate/scripts/registry.js';
import type { RedisClient } from '../../src/redis/connection.js';
import { gateHomes } from './shards.js';

// The gate's state as the tests read it, straight from Redis through its key module
// (src/gate/keys.ts): reads no process needs, so they are not the gate's.
export type GateProbe = {
  // Reservations in flight (pending or committing), over every home of the sale.
  inflightCount: (saleId: number) => Promise<number>;
  // The units a buyer holds (pending, committing or confirmed), at the buyer's home.
  heldBy: (saleId: number, buyer: string) => Promise<number>;
  // The home holding an order's reservation (its id names it), and its keys.
  orderHome: (saleId: number, orderId: string) => Promise<Home>;
  orderKeys: (saleId: number, orderId: string) => Promise<HomeKeys>;
  // Where the gate's scripts run, for a test that makes a script call itself.
  scripts: ScriptTarget;
};

export function gateProbe(redis: RedisClient, prefix: string): GateProbe {
  const shardsOf = async (saleId: number) =>
    Number((await redis.hget(saleKeys(prefix, saleId).sale, 'shards')) ?? 1);
  const orderHome = async (saleId: number, orderId: string): Promise<Home> => ({
    saleId,
    home: homeOfOrder(orderId),
    shards: await shardsOf(saleId),
  });
  return {
    inflightCount: async (saleId) => (await gateHomes(redis, prefix, saleId)).inflight(),
    heldBy: async (saleId, buyer) => {
      const shards = await shardsOf(saleId);
      const home = shards > 1 ? homeOfBuyer(buyer, shards) : null;
      return Number((await redis.hget(homeKeys(prefix, saleId, home, shards).held, buyer)) ?? 0);
    },
    orderHome,
    orderKeys: async (saleId, orderId) => {
      const at = await orderHome(saleId, orderId);
      return homeKeys(prefix, saleId, at.home, at.shards);
    },
    scripts: { redis, prefix, channel: saleEventsChannel(prefix) },
  };
}
