import type { GateContext } from './context.js';
import { keysOf } from './scripts/home.js';
import type { ClaimOutcome, ConfirmOutcome, ReleaseOutcome, ReturnOutcome } from './outcomes.js';
import {
  claimScript,
  confirmScript,
  releaseScript,
  returnScript,
} from './scripts/order-scripts.js';

// An order's reservation after its purchase (DESIGN.md, the state table): claimed by the worker
// writing its row, confirmed once written, or released with its units back.

// Claims several reservations of one sale, one script call per home (a worker's batch of jobs).
export function claimMany(
  ctx: GateContext,
  saleId: number,
  orderIds: readonly string[],
): Promise<ClaimOutcome[]> {
  return ctx.shardMap.eachHome(saleId, orderIds, (at, ids) => claimScript(ctx, at, ids));
}

// Confirms several reservations of one sale, one script call per home (a group commit's orders).
export function confirmMany(
  ctx: GateContext,
  saleId: number,
  orderIds: readonly string[],
): Promise<ConfirmOutcome[]> {
  const ttl = ctx.options.tombstoneTtlSeconds;
  return ctx.shardMap.eachHome(saleId, orderIds, (at, ids) => confirmScript(ctx, at, ids, ttl));
}

export async function release(
  ctx: GateContext,
  saleId: number,
  orderId: string,
  reason: string,
  { force = false } = {},
): Promise<ReleaseOutcome> {
  const at = await ctx.shardMap.orderHome(saleId, orderId);
  const tombstoneTtlSeconds = ctx.options.tombstoneTtlSeconds;
  const outcome = await releaseScript(ctx, at, { orderId, force, reason, tombstoneTtlSeconds });
  if (outcome.kind !== 'released' || outcome.shard === undefined) return outcome;
  // The allowance is back; now the unit, to the shard the reservation named.
  const shards = await shardsOrThrow(ctx, saleId);
  const { remaining } = await ctx.shardUnits.giveBack(
    { saleId, shard: outcome.shard, shards },
    orderId,
  );
  return { kind: 'released', remaining };
}

export type OrderToReturn = {
  orderId: string;
  buyer: string;
  quantity: number;
  reservedAt: Date;
  shard?: number | null;
};

// Gives an expired or cancelled order's units back (lua/return-4.lua); the caller has
// committed the order's row first.
// Over shards the unit goes back to the shard the reservation names, or, when Redis forgot
// the reservation, the one the order's row names: the ledger gives it back at most once.
export async function returnUnits(
  ctx: GateContext,
  saleId: number,
  order: OrderToReturn,
  reason: 'expired' | 'cancelled',
): Promise<ReturnOutcome> {
  const at = await ctx.shardMap.orderHome(saleId, order.orderId);
  const outcome = await returnScript(ctx, at, {
    orderId: order.orderId,
    buyer: order.buyer,
    quantity: order.quantity,
    reservedAtMs: order.reservedAt.getTime(),
    reason,
    tombstoneTtlSeconds: ctx.options.tombstoneTtlSeconds,
  });
  const shard =
    outcome.kind === 'returned' ? outcome.shard : outcome.kind === 'absent' ? order.shard : null;
  if (shard === null || shard === undefined || shard < 0) return outcome;
  const shards = await shardsOrThrow(ctx, saleId);
  const { remaining } = await ctx.shardUnits.giveBack({ saleId, shard, shards }, order.orderId);
  return outcome.kind === 'returned' ? { kind: 'returned', remaining } : outcome;
}

// A 503 answer means the request had no order: its Idempotency-Key must not replay one.
export async function forgetIdempotencyKey(
  ctx: GateContext,
  saleId: number,
  buyer: string,
  key: string,
): Promise<void> {
  const at = await ctx.shardMap.buyerHome(saleId, buyer);
  await ctx.redis.del(keysOf(ctx, at).idempotency(buyer, key));
}

async function shardsOrThrow(ctx: GateContext, saleId: number): Promise<number> {
  const shards = await ctx.shardMap.shardsOf(saleId);
  if (shards === null) throw new Error(`sale ${saleId} is not in redis`);
  return shards;
}
