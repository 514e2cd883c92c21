import type { GateContext } from './context.js';
import { forgetIdempotencyKey, release } from './lifecycle.js';
import { homeOfOrder, mintOrderId } from './order-id.js';
import type { ReserveOutcome } from './outcomes.js';
import type { Home } from './scripts/home.js';
import { reserveScript, retargetScript } from './scripts/purchase-scripts.js';
import { homeOfBuyerIn } from './shard-map.js';

export type ReserveRequest = {
  saleId: number;
  orderId: string;
  buyer: string;
  quantity: number;
  idempotencyKey?: string | undefined;
};

// A new order's id: over shards it names the buyer's home, where its reservation will live.
export async function newOrderId(ctx: GateContext, saleId: number, buyer: string) {
  return mintOrderId(saleId, homeOfBuyerIn(buyer, await ctx.shardMap.countOf(saleId)));
}

// Over shards the purchase runs at the buyer's home shard, which its order id must name
// (newOrderId): one script takes the allowance and, while that shard has one, the unit.
// An id naming no home with the count unknown was minted for a sale Redis did not have: it
// is not asked again, and the script answers NOT_FOUND (also to a sale over shards created
// since, which is then recovered as a missing sale: a 503 for that one purchase).
export async function reserve(ctx: GateContext, request: ReserveRequest): Promise<ReserveOutcome> {
  const { saleId, orderId, buyer } = request;
  const shards =
    ctx.shardMap.known(saleId) ??
    (homeOfOrder(orderId) === null ? 1 : await ctx.shardMap.shardsOf(saleId)) ??
    1;
  const home = homeOfBuyerIn(buyer, shards);
  if (home !== homeOfOrder(orderId)) {
    throw new Error(`order id ${orderId} does not name its buyer's home shard`);
  }
  const at: Home = { saleId, home, shards };
  const key = request.idempotencyKey;
  const outcome = await reserveScript(ctx, at, {
    orderId,
    buyer,
    quantity: request.quantity,
    idempotency: key ? { key, ttlSeconds: ctx.options.idempotencyTtlSeconds } : null,
    rate: {
      capacity: ctx.options.rateCapacity ?? 0,
      refillPerSecond: ctx.options.rateRefillPerSecond ?? 0,
    },
    nextShard: ctx.shardUnits.firstChoice(saleId, shards, home),
  });
  if (outcome.kind !== 'reserved' || outcome.shard === undefined) return outcome;
  if (outcome.remaining >= 0) {
    ctx.shardUnits.remember(saleId, outcome.shard, true);
    return outcome;
  }
  // The home shard had no unit: its allowance is held, the unit comes from another shard.
  ctx.shardUnits.remember(saleId, home!, false);
  const over = { first: outcome.shard, shards: outcome.shards ?? shards };
  return takeUnits(ctx, request, at, over, outcome.reservedAtMs);
}

// The tail of a purchase over shards, when the buyer's home had no unit: the home holds the
// allowance and a pending reservation naming `first`; a unit is taken there, or from each
// other shard in turn, the reservation renamed before each try. With none anywhere, the
// allowance goes back and the answer is SOLD_OUT (docs/sharded-sales.md).
async function takeUnits(
  ctx: GateContext,
  request: ReserveRequest,
  home: Home,
  { first, shards }: { first: number; shards: number },
  reservedAtMs: number,
): Promise<ReserveOutcome> {
  const { saleId, orderId, quantity } = request;
  let named = first;
  let missing = false;
  for (const shard of [first, ...ctx.shardUnits.nextChoices(saleId, first, shards)]) {
    if (shard !== named) {
      if (!(await retargetScript(ctx, home, { orderId, from: named, to: shard }))) {
        throw new Error(`reservation ${orderId} was released while its purchase ran`);
      }
      named = shard;
    }
    const taken = await ctx.shardUnits.take({ saleId, shard, shards }, orderId, quantity);
    if (taken === 'taken' || taken === 'held') {
      return { kind: 'reserved', remaining: -1, reservedAtMs, shard, shards };
    }
    if (taken === 'missing') missing = true;
  }
  await release(ctx, saleId, orderId, missing ? 'shard_missing' : 'sold_out');
  if (request.idempotencyKey) {
    await forgetIdempotencyKey(ctx, saleId, request.buyer, request.idempotencyKey);
  }
  // A shard Redis forgot: the sale is not whole until the reconciler loads it back.
  return missing ? { kind: 'loading' } : { kind: 'sold_out' };
}
