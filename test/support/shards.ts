import { expect } from 'vitest';
import { homeKeys, saleKeys, shardKeys, type HomeKeys } from '../../src/gate/keys.js';
import { homeOfOrder } from '../../src/gate/order-id.js';
import type { RedisClient } from '../../src/redis/connection.js';

// `stock`: the shard's share of the sale's units, its even split at creation until an admin
// adds or takes back units (src/gate/changes.ts).
export type ShardRead = {
  shard: number;
  remaining: number;
  stock: number;
  ledger: Map<string, number>;
};

// What the gate can still sell of a sale, read straight from Redis: the sale hash's remaining,
// or for a sale over shards the sum of its shards, with each shard's ledger.
export async function gateRemaining(
  redis: RedisClient,
  prefix: string,
  saleId: number,
): Promise<{ remaining: number; shards: ShardRead[] | null }> {
  const [homeRemaining, shardCount] = await redis.hmget(
    saleKeys(prefix, saleId).sale,
    'remaining',
    'shards',
  );
  const count = Number(shardCount ?? 1);
  if (count <= 1) return { remaining: Number(homeRemaining), shards: null };
  const shards = await Promise.all(
    Array.from({ length: count }, async (_, shard): Promise<ShardRead> => {
      const k = shardKeys(prefix, saleId, shard, count);
      const [[remaining, stock], ledger] = await Promise.all([
        redis.hmget(k.units, 'remaining', 'stock'),
        redis.hgetall(k.ledger),
      ]);
      return {
        shard,
        remaining: Number(remaining),
        stock: Number(stock),
        ledger: new Map(Object.entries(ledger).map(([id, units]) => [id, Number(units)])),
      };
    }),
  );
  return { remaining: shards.reduce((sum, s) => sum + s.remaining, 0), shards };
}

// Over shards, at rest: each shard agrees with its own ledger, and the ledgers hold exactly the
// orders that keep their units (nothing stranded on a shard, no unit taken twice).
export function expectShardsHold(shards: ShardRead[], stock: number, holding: string[]): void {
  for (const shard of shards) {
    const ledgerUnits = [...shard.ledger.values()].reduce((sum, units) => sum + units, 0);
    expect(shard.remaining, `shard ${shard.shard} remaining == its stock - its ledger`).toBe(
      shard.stock - ledgerUnits,
    );
    expect(shard.remaining, `shard ${shard.shard} not below zero`).toBeGreaterThanOrEqual(0);
  }
  const shardStocks = shards.reduce((sum, shard) => sum + shard.stock, 0);
  expect(shardStocks, "the shards' stocks add up to the sale's").toBe(stock);
  const ledgered = shards.flatMap((shard) => [...shard.ledger.keys()]).sort();
  expect(ledgered, 'shard ledgers hold exactly the orders that keep their units').toEqual(
    [...holding].sort(),
  );
}

export type GateHomes = {
  // Every slot holding buyers' state: the sale's own, or each shard of a sale over shards.
  homes: HomeKeys[];
  // The key of an order's reservation, at the home its id names.
  reservation: (orderId: string) => string;
  // The buyers' allowances over every home, and the reservations in flight.
  held: () => Promise<Record<string, string>>;
  inflight: () => Promise<number>;
  inflightIds: () => Promise<string[]>;
};

// Where a sale's buyers' state lives, read straight from Redis (docs/sharded-sales.md).
export async function gateHomes(
  redis: RedisClient,
  prefix: string,
  saleId: number,
): Promise<GateHomes> {
  const count = Number((await redis.hget(saleKeys(prefix, saleId).sale, 'shards')) ?? 1);
  const homes =
    count <= 1
      ? [saleKeys(prefix, saleId)]
      : Array.from({ length: count }, (_, home) => homeKeys(prefix, saleId, home, count));
  const inflightIds = async () =>
    (await Promise.all(homes.map((k) => redis.zrange(k.inflight, 0, -1)))).flat();
  return {
    homes,
    reservation: (orderId) =>
      homeKeys(prefix, saleId, homeOfOrder(orderId), count).reservation(orderId),
    held: async () =>
      Object.assign({}, ...(await Promise.all(homes.map((k) => redis.hgetall(k.held))))),
    inflight: async () => (await inflightIds()).length,
    inflightIds,
  };
}
