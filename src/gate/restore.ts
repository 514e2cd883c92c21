import type { GateContext } from './context.js';
import type { RestoreMode, RestoreOutcome, TakeOutcome } from './outcomes.js';
import { keysOf } from './scripts/home.js';
import { restoreScript } from './scripts/order-scripts.js';

// An order whose reservation Redis may have forgotten, as PostgreSQL or its message tells it.
export type OrderToRestore = {
  orderId: string;
  buyer: string;
  quantity: number;
  reservedAtMs: number;
  mode: RestoreMode;
  // The shard holding its units, for a sale over shards (the order's message and row say).
  shard?: number | null | undefined;
};

// Re-creates reservations Redis lost, each taking its units again (lua/restore-3.lua).
// Over shards the units are taken (or given back) on each order's shard first, where the
// ledger makes it idempotent, then the reservation is written at home naming the shard
// (docs/sharded-sales.md, restore).
export async function restore(
  ctx: GateContext,
  saleId: number,
  orders: readonly OrderToRestore[],
): Promise<RestoreOutcome[]> {
  if (orders.length === 0) return [];
  if (orders.some((o) => o.shard !== null && o.shard !== undefined && o.shard >= 0)) {
    return restoreSharded(ctx, saleId, orders);
  }
  return restoreAtHome(ctx, saleId, orders);
}

function restoreAtHome(
  ctx: GateContext,
  saleId: number,
  orders: readonly OrderToRestore[],
): Promise<RestoreOutcome[]> {
  const ttl = ctx.options.tombstoneTtlSeconds;
  return ctx.shardMap.eachHome(
    saleId,
    orders.map((o) => o.orderId),
    (at, _ids, places) => {
      const group = places.map((place) => {
        const { shard, ...order } = orders[place]!;
        return { ...order, shard: shard ?? -1 };
      });
      return restoreScript(ctx, at, group, ttl);
    },
  );
}

// The buyer's limit (or a sale still loading) refused a claim at home: its unit goes back.
const refusedAtHome = new Set<RestoreOutcome>(['refused', 'loading', 'sale_missing']);

async function restoreSharded(
  ctx: GateContext,
  saleId: number,
  orders: readonly OrderToRestore[],
): Promise<RestoreOutcome[]> {
  const shards = await ctx.shardMap.shardsOf(saleId);
  if (shards === null || shards <= 1) return orders.map(() => 'sale_missing');
  const shardOf = (order: OrderToRestore) => ({ saleId, shard: order.shard ?? 0, shards });
  // Sent together: each is one slot's script, and ioredis writes them without waiting.
  const takes: (TakeOutcome | null)[] = await Promise.all(
    orders.map(async (order) => {
      if (order.mode !== 'failed') {
        const force = order.mode === 'confirmed';
        return ctx.shardUnits.take(shardOf(order), order.orderId, order.quantity, { force });
      }
      await ctx.shardUnits.giveBack(shardOf(order), order.orderId);
      return null;
    }),
  );
  // A claim its shard had no units for ends as a tombstone at home, nothing held.
  const atHome = orders.map((order, i) =>
    takes[i] === 'empty' ? { ...order, mode: 'failed' as const } : order,
  );
  const outcomes = await restoreAtHome(ctx, saleId, atHome);
  await Promise.all(
    orders.map((order, i) =>
      order.mode === 'claim' && takes[i] === 'taken' && refusedAtHome.has(outcomes[i]!)
        ? ctx.shardUnits.giveBack(shardOf(order), order.orderId)
        : null,
    ),
  );
  return outcomes.map((outcome, i) => {
    if (takes[i] === 'missing') return 'sale_missing';
    return takes[i] === 'empty' && outcome === 'restored' ? 'refused' : outcome;
  });
}

// Puts back Idempotency-Keys Redis lost, never over one it still has.
export async function restoreIdempotencyKeys(
  ctx: GateContext,
  saleId: number,
  entries: readonly { buyer: string; key: string; orderId: string }[],
): Promise<void> {
  if (entries.length === 0) return;
  const ttl = ctx.options.idempotencyTtlSeconds;
  const ids = entries.map((e) => e.orderId);
  // Each key lives at its buyer's home, the order's: grouped so a pipeline stays in a slot.
  for (const { at, places } of await ctx.shardMap.byHome(saleId, ids)) {
    const k = keysOf(ctx, at);
    const replies = await ctx.redis
      .pipeline(
        places.map((i) => {
          const e = entries[i]!;
          return ['set', k.idempotency(e.buyer, e.key), e.orderId, 'EX', ttl, 'NX'];
        }),
      )
      .exec();
    for (const [error] of replies ?? []) if (error) throw error;
  }
}
