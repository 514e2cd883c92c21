import type { GateContext } from './context.js';
import { saleKeys, salesIndexKey } from './keys.js';
import { reservationState, type ReservationState } from './outcomes.js';
import { keysOf } from './scripts/home.js';
import { repairRemainingScript } from './scripts/sale-scripts.js';
import type { ShardReading } from './shard-units.js';

// Read-only views of the gate's state, for the API (remaining, the sale cache), the
// reconciler (snapshots, in-flight orders) and the recovery; and the reconciler's one repair.

// What the gate knows of a sale, read in one HMGET: `version` orders this reading against
// the sold-out / reopened events the scripts publish (lua/includes/sale-events.lua).
export type SaleState = {
  version: number;
  remaining: number;
  perUserLimit: number;
  startsAtMs: number;
  endsAtMs: number | null;
  // A sale over shards: each shard's reading, in shard order (null: the shard is not loaded);
  // `remaining` is then their sum and `version` unused.
  shards: (ShardReading | null)[] | null;
  // The sale's features (loading.ts, SaleFeature); null when a Redis loaded by an older version
  // holds the sale without them.
  features: string[] | null;
  // The kill switch (lua/change-sale-1.lua).
  paused: boolean;
};

export type Reservation = {
  state: ReservationState;
  buyer: string;
  quantity: number;
  reservedAt: Date;
  reason: string | null;
};

export type SaleSnapshot = {
  remaining: number;
  inflight: { orderId: string; quantity: number }[];
};

// Over shards: the sum of what each shard can still give (a shard a restore took past zero
// counts as empty).
export async function remaining(ctx: GateContext, saleId: number): Promise<number | null> {
  const shards = await ctx.shardMap.shardsOf(saleId);
  if (shards !== null && shards > 1) return sumOf(await ctx.shardUnits.read(saleId, shards));
  const value = await ctx.redis.hget(saleKeys(ctx.prefix, saleId).sale, 'remaining');
  return value === null ? null : Number(value);
}

// Each shard's remaining units, in shard order (null where a shard is not loaded); null
// for a sale without shards or not in Redis.
export async function shardRemaining(
  ctx: GateContext,
  saleId: number,
): Promise<(number | null)[] | null> {
  const shards = await ctx.shardMap.shardsOf(saleId);
  if (shards === null || shards <= 1) return null;
  return (await ctx.shardUnits.read(saleId, shards)).map((r) => r?.remaining ?? null);
}

export async function saleState(ctx: GateContext, saleId: number): Promise<SaleState | null> {
  const [remaining, version, limit, starts, ends, shardCount, features, paused] =
    await ctx.redis.hmget(
      saleKeys(ctx.prefix, saleId).sale,
      'remaining',
      'v',
      'limit',
      'starts',
      'ends',
      'shards',
      'features',
      'paused',
    );
  if ((remaining === null && shardCount === null) || limit === null || starts === null) {
    return null;
  }
  const shards = shardCount === null ? null : await ctx.shardUnits.read(saleId, Number(shardCount));
  const endsAtMs = Number(ends ?? 0);
  return {
    version: Number(version ?? 0),
    remaining: shards ? sumOf(shards) : Number(remaining),
    perUserLimit: Number(limit),
    startsAtMs: Number(starts),
    endsAtMs: endsAtMs > 0 ? endsAtMs : null,
    shards,
    features:
      features === null || features === undefined ? null : features.split(' ').filter(Boolean),
    paused: paused === '1',
  };
}

export async function reservation(
  ctx: GateContext,
  saleId: number,
  orderId: string,
): Promise<Reservation | null> {
  const at = await ctx.shardMap.orderHome(saleId, orderId);
  const [s, u, q, t, r] = await ctx.redis.hmget(
    keysOf(ctx, at).reservation(orderId),
    's',
    'u',
    'q',
    't',
    'r',
  );
  const state = reservationState(s);
  if (!state || !u) return null;
  return {
    state,
    buyer: u,
    quantity: Number(q),
    reservedAt: new Date(Number(t)),
    reason: r ?? null,
  };
}

// The states of several reservations of one sale, null where Redis has none.
export async function reservationStates(
  ctx: GateContext,
  saleId: number,
  orderIds: readonly string[],
): Promise<(ReservationState | null)[]> {
  const replies = await readReservations(ctx, saleId, orderIds, ['s']);
  return replies.map(([s]) => reservationState(s));
}

// The state of several reservations of one sale and the shard each names (null: none, or
// Redis has no such reservation).
export async function reservationShards(
  ctx: GateContext,
  saleId: number,
  orderIds: readonly string[],
): Promise<({ state: ReservationState | null; shard: number | null } | null)[]> {
  const replies = await readReservations(ctx, saleId, orderIds, ['s', 'k']);
  return replies.map(([s, shard]) =>
    s === null || s === undefined
      ? null
      : {
          state: reservationState(s),
          shard: shard === null || shard === undefined ? null : Number(shard),
        },
  );
}

// Fields of several reservations of one sale, one pipeline per slot holding them.
async function readReservations(
  ctx: GateContext,
  saleId: number,
  orderIds: readonly string[],
  fields: readonly string[],
): Promise<(string | null)[][]> {
  const values: (string | null)[][] = orderIds.map(() => fields.map(() => null));
  for (const { at, places } of await ctx.shardMap.byHome(saleId, orderIds)) {
    const k = keysOf(ctx, at);
    const replies = await ctx.redis
      .pipeline(places.map((i) => ['hmget', k.reservation(orderIds[i]!), ...fields]))
      .exec();
    places.forEach((i, j) => {
      const [error, value] = replies?.[j] ?? [null, null];
      if (error) throw error;
      values[i] = fieldValues(value, fields.length);
    });
  }
  return values;
}

// An HMGET's reply in a pipeline: a value or null per field.
function fieldValues(value: unknown, count: number): (string | null)[] {
  if (!Array.isArray(value) || value.length !== count) {
    throw new Error(`hmget answered ${JSON.stringify(value)}, not ${count} fields`);
  }
  return value.map((field: unknown) => (typeof field === 'string' ? field : null));
}

export async function inflightIds(ctx: GateContext, saleId: number): Promise<string[]> {
  const homes = await ctx.shardMap.homes(saleId);
  const pages = homes.map((at) => ctx.redis.zrange(keysOf(ctx, at).inflight, 0, -1));
  return (await Promise.all(pages)).flat();
}

// Orders reserved before `olderThan` that are neither confirmed nor released yet.
// Over shards, up to `limit` from each home.
export async function inflightBefore(
  ctx: GateContext,
  saleId: number,
  olderThan: Date,
  limit = 500,
): Promise<string[]> {
  const homes = await ctx.shardMap.homes(saleId);
  const pages = await Promise.all(
    homes.map((at) =>
      ctx.redis.zrangebyscore(
        keysOf(ctx, at).inflight,
        '-inf',
        olderThan.getTime(),
        'LIMIT',
        0,
        limit,
      ),
    ),
  );
  return pages.flat();
}

// Remaining units and the reservations in flight, read in one MULTI so both describe the
// same instant. A reservation's quantity never changes, so it is read afterwards.
export async function saleSnapshot(ctx: GateContext, saleId: number): Promise<SaleSnapshot | null> {
  const shards = await ctx.shardMap.shardsOf(saleId);
  if (shards !== null && shards > 1) return shardedSnapshot(ctx, saleId, shards);
  const k = saleKeys(ctx.prefix, saleId);
  const replies = await ctx.redis
    .multi()
    .hget(k.sale, 'remaining')
    .zrange(k.inflight, 0, -1)
    .exec();
  const [remaining, orderIds] = (replies ?? []).map(([error, value]) => {
    if (error) throw error;
    return value;
  });
  if (typeof remaining !== 'string') return null;
  if (!Array.isArray(orderIds)) throw new Error('the in-flight set was not read');
  const ids = orderIds.filter((id): id is string => typeof id === 'string');
  return { remaining: Number(remaining), inflight: await quantitiesOf(ctx, saleId, ids) };
}

// Over shards the homes' in-flight sets and the shards' units are in many slots: the sets are
// read first, so a unit taken in between shows as taken for an order not yet seen in flight
// (see drift.ts, which reads twice).
async function shardedSnapshot(
  ctx: GateContext,
  saleId: number,
  shards: number,
): Promise<SaleSnapshot | null> {
  const orderIds = await inflightIds(ctx, saleId);
  const readings = await ctx.shardUnits.read(saleId, shards);
  if (readings.every((r) => r === null)) return null;
  const remaining = readings.reduce((sum, r) => sum + (r?.remaining ?? 0), 0);
  return { remaining, inflight: await quantitiesOf(ctx, saleId, orderIds) };
}

// A reservation's quantity never changes, so it is read after the state it belongs to.
async function quantitiesOf(ctx: GateContext, saleId: number, orderIds: readonly string[]) {
  const replies = await readReservations(ctx, saleId, orderIds, ['q']);
  return orderIds.map((orderId, i) => ({ orderId, quantity: Number(replies[i]?.[0] ?? 0) }));
}

// Compare-and-set of remaining: applied only if neither remaining nor the in-flight count
// moved since `seen` was read.
export function repairRemaining(
  ctx: GateContext,
  saleId: number,
  seen: SaleSnapshot,
  corrected: { remaining: number; stock: number },
): Promise<boolean> {
  const reading = { remaining: seen.remaining, inflight: seen.inflight.length };
  return repairRemainingScript(ctx, saleId, reading, corrected);
}

export async function saleIds(ctx: GateContext): Promise<number[]> {
  return (await ctx.redis.smembers(salesIndexKey(ctx.prefix))).map(Number);
}

function sumOf(shards: readonly (ShardReading | null)[]): number {
  return shards.reduce((sum, shard) => sum + Math.max(0, shard?.remaining ?? 0), 0);
}
