import type { RedisClient } from '../redis/connection.js';
import type { Config } from '../config.js';
import { saleEventsChannel, saleKeys, salesIndexKey, shardStock } from './keys.js';
import { ShardUnits, type ShardReading, type TakeOutcome } from './shard-units.js';
import { withScripts, type ScriptedRedis } from './scripts.js';
import {
  claimOutcomes,
  confirmOutcomes,
  reservationState,
  restoreOutcomes,
  toReleaseOutcome,
  toReserveOutcome,
  toReturnOutcome,
  type ClaimOutcome,
  type ConfirmOutcome,
  type ReleaseOutcome,
  type ReservationState,
  type ReserveOutcome,
  type RestoreMode,
  type RestoreOutcome,
  type ReturnOutcome,
} from './outcomes.js';

export type GateOptions = {
  prefix: string;
  tombstoneTtlSeconds: number;
  idempotencyTtlSeconds: number;
  // Token bucket per buyer and sale; capacity 0 turns it off.
  rateCapacity?: number;
  rateRefillPerSecond?: number;
};

export function gateOptions(config: Config): GateOptions {
  return {
    prefix: config.redisPrefix,
    tombstoneTtlSeconds: config.tombstoneTtlSeconds,
    idempotencyTtlSeconds: config.idempotencyTtlSeconds,
    rateCapacity: config.rateLimitCapacity,
    rateRefillPerSecond: config.rateLimitRefillPerSecond,
  };
}

export type SaleForGate = {
  id: number;
  stock: number;
  perUserLimit: number;
  startsAt: Date;
  endsAt: Date | null;
  // 1 (or absent): the units live in the sale's hash; more: spread over shards.
  shards?: number;
};

export type ReserveRequest = {
  saleId: number;
  orderId: string;
  buyer: string;
  quantity: number;
  idempotencyKey?: string | undefined;
};

// What the gate knows of a sale, read in one HMGET: `version` orders this reading against
// the sold-out / reopened events the scripts publish (see lua/reserve-6.lua).
export type SaleState = {
  version: number;
  remaining: number;
  perUserLimit: number;
  startsAtMs: number;
  endsAtMs: number | null;
  // A sale over shards: each shard's reading, in shard order (null: the shard is not loaded);
  // `remaining` is then their sum and `version` unused.
  shards: (ShardReading | null)[] | null;
};

export type Reservation = {
  state: ReservationState;
  buyer: string;
  quantity: number;
  reservedAt: Date;
  reason: string | null;
};

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

export type SaleSnapshot = {
  remaining: number;
  inflight: { orderId: string; quantity: number }[];
};

// The only door to the gate's Redis state: every transition goes through one Lua script.
export class Gate {
  readonly redis: ScriptedRedis;
  readonly eventsChannel: string;
  readonly shardUnits: ShardUnits;
  // A sale's shard count never changes: learnt once from Redis, then known.
  private readonly shardCounts = new Map<number, number>();

  constructor(
    redis: RedisClient,
    private readonly options: GateOptions,
  ) {
    this.redis = withScripts(redis);
    this.eventsChannel = saleEventsChannel(options.prefix);
    this.shardUnits = new ShardUnits(this.redis, options.prefix, this.eventsChannel);
  }

  // How many shards the sale's units are spread over (1: none); null when Redis does not
  // have the sale.
  async shardsOf(saleId: number): Promise<number | null> {
    const known = this.shardCounts.get(saleId);
    if (known !== undefined) return known;
    const [shards, remaining] = await this.redis.hmget(
      this.keys(saleId).sale,
      'shards',
      'remaining',
    );
    if (shards === null && remaining === null) return null;
    const count = shards === null ? 1 : Number(shards);
    this.shardCounts.set(saleId, count);
    return count;
  }

  private async shardsOrThrow(saleId: number): Promise<number> {
    const shards = await this.shardsOf(saleId);
    if (shards === null) throw new Error(`sale ${saleId} is not in redis`);
    return shards;
  }

  keys(saleId: number) {
    return saleKeys(this.options.prefix, saleId);
  }

  // `restoring`: the sale may have orders already (Redis forgot it), so it is created at full
  // stock and marked loading until SaleLoader has restored them (lua/load-sale-1.lua).
  // A sale over shards has its shards loaded first (each with its share of the stock), so a
  // purchase its home slot lets in always finds them.
  async loadSale(sale: SaleForGate, { restoring = false } = {}): Promise<boolean> {
    const shards = sale.shards ?? 1;
    const rules = [sale.perUserLimit, sale.startsAt.getTime(), sale.endsAt?.getTime() ?? 0];
    for (let shard = 0; shards > 1 && shard < shards; shard++) {
      await this.redis.flLoadSale(
        this.shardUnits.keys(sale.id, shard, shards).units,
        shardStock(sale.stock, shard, shards),
        ...rules,
        '0',
        1,
      );
    }
    const loaded = await this.redis.flLoadSale(
      this.keys(sale.id).sale,
      sale.stock,
      ...rules,
      restoring ? '1' : '0',
      shards,
    );
    this.shardCounts.set(sale.id, shards);
    await this.redis.sadd(salesIndexKey(this.options.prefix), String(sale.id));
    return loaded === 1;
  }

  // Takes the lock under which one process loads a sale back; null when another holds it.
  async lockLoad(saleId: number, token: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(this.keys(saleId).loadLock, token, 'PX', ttlMs, 'NX')) === 'OK';
  }

  async unlockLoad(saleId: number, token: string): Promise<void> {
    await this.redis.flUnlock(this.keys(saleId).loadLock, token);
  }

  async isLoading(saleId: number): Promise<boolean> {
    return (await this.redis.hexists(this.keys(saleId).sale, 'loading')) === 1;
  }

  async finishLoading(saleId: number): Promise<void> {
    await this.redis.hdel(this.keys(saleId).sale, 'loading');
  }

  // Re-creates reservations Redis lost, each taking its units again (lua/restore-n.lua).
  // Over shards the units are taken (or given back) on each order's shard first, where the
  // ledger makes it idempotent, then the reservation is written at home naming the shard
  // (docs/sharded-sales.md, restore).
  async restore(saleId: number, orders: readonly OrderToRestore[]): Promise<RestoreOutcome[]> {
    if (orders.length === 0) return [];
    if (orders.some((o) => o.shard !== null && o.shard !== undefined && o.shard >= 0)) {
      return this.restoreSharded(saleId, orders);
    }
    return this.restoreAtHome(saleId, orders);
  }

  private async restoreAtHome(
    saleId: number,
    orders: readonly OrderToRestore[],
  ): Promise<RestoreOutcome[]> {
    const k = this.keys(saleId);
    const codes = (await this.redis.flRestore(
      orders.length + 3,
      k.sale,
      k.held,
      k.inflight,
      ...orders.map((o) => k.reservation(o.orderId)),
      this.options.tombstoneTtlSeconds,
      this.eventsChannel,
      saleId,
      ...orders.flatMap((o) => [
        o.orderId,
        o.buyer,
        o.quantity,
        o.reservedAtMs,
        o.shard ?? -1,
        o.mode,
      ]),
    )) as number[];
    return orders.map((_, i) => restoreOutcomes[Number(codes[i])] ?? 'sale_missing');
  }

  private async restoreSharded(
    saleId: number,
    orders: readonly OrderToRestore[],
  ): Promise<RestoreOutcome[]> {
    const shards = await this.shardsOf(saleId);
    if (shards === null || shards <= 1) return orders.map(() => 'sale_missing');
    // Sent together: each is one slot's script, and ioredis writes them without waiting.
    const takes: (TakeOutcome | null)[] = await Promise.all(
      orders.map(async (order) => {
        const shard = order.shard ?? 0;
        if (order.mode !== 'failed') {
          const force = order.mode === 'confirmed';
          return this.shardUnits.take(saleId, shard, shards, order.orderId, order.quantity, {
            force,
          });
        }
        await this.shardUnits.giveBack(saleId, shard, shards, order.orderId);
        return null;
      }),
    );
    // A claim its shard had no units for ends as a tombstone at home, nothing held.
    const atHome = orders.map((order, i) =>
      takes[i] === 'empty' ? { ...order, mode: 'failed' as const } : order,
    );
    const outcomes = await this.restoreAtHome(saleId, atHome);
    const refusedAtHome = new Set<RestoreOutcome>(['refused', 'loading', 'sale_missing']);
    // The buyer's limit (or a sale still loading) refused a claim at home: its unit goes back.
    await Promise.all(
      orders.map((order, i) =>
        order.mode === 'claim' && takes[i] === 'taken' && refusedAtHome.has(outcomes[i]!)
          ? this.shardUnits.giveBack(saleId, order.shard ?? 0, shards, order.orderId)
          : null,
      ),
    );
    return outcomes.map((outcome, i) => {
      if (takes[i] === 'missing') return 'sale_missing';
      return takes[i] === 'empty' && outcome === 'restored' ? 'refused' : outcome;
    });
  }

  // Puts back Idempotency-Keys Redis lost, never over one it still has.
  async restoreIdempotencyKeys(
    saleId: number,
    entries: readonly { buyer: string; key: string; orderId: string }[],
  ): Promise<void> {
    if (entries.length === 0) return;
    const k = this.keys(saleId);
    const ttl = this.options.idempotencyTtlSeconds;
    const replies = await this.redis
      .pipeline(
        entries.map((e) => ['set', k.idempotency(e.buyer, e.key), e.orderId, 'EX', ttl, 'NX']),
      )
      .exec();
    for (const [error] of replies ?? []) if (error) throw error;
  }

  async reserve(request: ReserveRequest): Promise<ReserveOutcome> {
    const k = this.keys(request.saleId);
    const key = request.idempotencyKey;
    const reply = await this.redis.flReserve(
      k.sale,
      k.held,
      k.reservation(request.orderId),
      k.inflight,
      key ? k.idempotency(request.buyer, key) : k.idempotency(request.buyer, ''),
      k.rateBucket(request.buyer),
      request.orderId,
      request.buyer,
      request.quantity,
      key ? this.options.idempotencyTtlSeconds : 0,
      this.options.rateCapacity ?? 0,
      this.options.rateRefillPerSecond ?? 0,
      this.eventsChannel,
      request.saleId,
      this.shardUnits.firstChoice(request.saleId, this.shardCounts.get(request.saleId)),
    );
    const outcome = toReserveOutcome(reply);
    if (outcome.kind !== 'reserved' || outcome.shard === undefined) return outcome;
    this.shardCounts.set(request.saleId, outcome.shards!);
    return this.takeUnits(request, outcome.shard, outcome.shards!, outcome.reservedAtMs);
  }

  // The second step of a purchase over shards: the home slot holds the allowance and a
  // pending reservation naming `first`; a unit is taken there, or from each other shard in
  // turn, the reservation renamed before each try. With none anywhere, the allowance goes back
  // and the answer is SOLD_OUT (docs/sharded-sales.md).
  private async takeUnits(
    request: ReserveRequest,
    first: number,
    shards: number,
    reservedAtMs: number,
  ): Promise<ReserveOutcome> {
    const { saleId, orderId, quantity } = request;
    const reservationKey = this.keys(saleId).reservation(orderId);
    let named = first;
    let missing = false;
    for (const shard of [first, ...this.shardUnits.nextChoices(saleId, first, shards)]) {
      if (shard !== named) {
        if (Number(await this.redis.flRetarget(reservationKey, named, shard)) !== 1) {
          throw new Error(`reservation ${orderId} was released while its purchase ran`);
        }
        named = shard;
      }
      const taken = await this.shardUnits.take(saleId, shard, shards, orderId, quantity);
      if (taken === 'taken' || taken === 'held') {
        return { kind: 'reserved', remaining: -1, reservedAtMs, shard, shards };
      }
      if (taken === 'missing') missing = true;
    }
    await this.release(saleId, orderId, missing ? 'shard_missing' : 'sold_out');
    if (request.idempotencyKey) {
      await this.forgetIdempotencyKey(saleId, request.buyer, request.idempotencyKey);
    }
    // A shard Redis forgot: the sale is not whole until the reconciler loads it back.
    return missing ? { kind: 'loading' } : { kind: 'sold_out' };
  }

  async claim(saleId: number, orderId: string): Promise<ClaimOutcome> {
    return (await this.claimMany(saleId, [orderId]))[0]!;
  }

  // Claims several reservations of one sale in one script call (a worker's batch of jobs).
  async claimMany(saleId: number, orderIds: readonly string[]): Promise<ClaimOutcome[]> {
    if (orderIds.length === 0) return [];
    const k = this.keys(saleId);
    const codes = (await this.redis.flClaim(
      orderIds.length,
      ...orderIds.map((orderId) => k.reservation(orderId)),
    )) as number[];
    return orderIds.map((_, i) => claimOutcomes[Number(codes[i])] ?? 'unknown');
  }

  async confirm(saleId: number, orderId: string): Promise<ConfirmOutcome> {
    return (await this.confirmMany(saleId, [orderId]))[0]!;
  }

  // Confirms several reservations of one sale in one script call (a group commit's orders).
  async confirmMany(saleId: number, orderIds: readonly string[]): Promise<ConfirmOutcome[]> {
    if (orderIds.length === 0) return [];
    const k = this.keys(saleId);
    const codes = (await this.redis.flConfirm(
      orderIds.length + 1,
      k.inflight,
      ...orderIds.map((orderId) => k.reservation(orderId)),
      this.options.tombstoneTtlSeconds,
      ...orderIds,
    )) as number[];
    return orderIds.map((_, i) => confirmOutcomes[Number(codes[i])] ?? 'unknown');
  }

  async release(
    saleId: number,
    orderId: string,
    reason: string,
    { force = false } = {},
  ): Promise<ReleaseOutcome> {
    const k = this.keys(saleId);
    const reply = await this.redis.flRelease(
      k.sale,
      k.held,
      k.reservation(orderId),
      k.inflight,
      orderId,
      force ? '1' : '0',
      this.options.tombstoneTtlSeconds,
      reason,
      this.eventsChannel,
      saleId,
    );
    const outcome = toReleaseOutcome(reply);
    if (outcome.kind !== 'released' || outcome.shard === undefined) return outcome;
    // The allowance is back; now the unit, to the shard the reservation named.
    const shards = await this.shardsOrThrow(saleId);
    const { remaining } = await this.shardUnits.giveBack(saleId, outcome.shard, shards, orderId);
    return { kind: 'released', remaining };
  }

  // Gives an expired or cancelled order's units back (lua/return-4.lua); the caller has
  // committed the order's row first.
  // Over shards the unit goes back to the shard the reservation names, or, when Redis forgot
  // the reservation, the one the order's row names: the ledger gives it back at most once.
  async returnUnits(
    saleId: number,
    order: {
      orderId: string;
      buyer: string;
      quantity: number;
      reservedAt: Date;
      shard?: number | null;
    },
    reason: 'expired' | 'cancelled',
  ): Promise<ReturnOutcome> {
    const k = this.keys(saleId);
    const reply = await this.redis.flReturn(
      k.sale,
      k.held,
      k.reservation(order.orderId),
      k.inflight,
      order.orderId,
      order.buyer,
      order.quantity,
      order.reservedAt.getTime(),
      this.options.tombstoneTtlSeconds,
      reason,
      this.eventsChannel,
      saleId,
    );
    const outcome = toReturnOutcome(reply);
    const shard =
      outcome.kind === 'returned' ? outcome.shard : outcome.kind === 'absent' ? order.shard : null;
    if (shard === null || shard === undefined || shard < 0) return outcome;
    const shards = await this.shardsOrThrow(saleId);
    const { remaining } = await this.shardUnits.giveBack(saleId, shard, shards, order.orderId);
    return outcome.kind === 'returned' ? { kind: 'returned', remaining } : outcome;
  }

  // The states of several reservations of one sale, null where Redis has none.
  async reservationStates(
    saleId: number,
    orderIds: readonly string[],
  ): Promise<(ReservationState | null)[]> {
    if (orderIds.length === 0) return [];
    const k = this.keys(saleId);
    const replies = await this.redis
      .pipeline(orderIds.map((id) => ['hget', k.reservation(id), 's']))
      .exec();
    return orderIds.map((_, i) => {
      const [error, value] = replies?.[i] ?? [null, null];
      if (error) throw error;
      return reservationState(value as string | null);
    });
  }

  // The state of several reservations of one sale and the shard each names (null: none, or
  // Redis has no such reservation).
  async reservationShards(
    saleId: number,
    orderIds: readonly string[],
  ): Promise<({ state: ReservationState | null; shard: number | null } | null)[]> {
    if (orderIds.length === 0) return [];
    const k = this.keys(saleId);
    const replies = await this.redis
      .pipeline(orderIds.map((id) => ['hmget', k.reservation(id), 's', 'k']))
      .exec();
    return orderIds.map((_, i) => {
      const [error, value] = replies?.[i] ?? [null, null];
      if (error) throw error;
      const [s, shard] = value as [string | null, string | null];
      if (s === null) return null;
      return { state: reservationState(s), shard: shard === null ? null : Number(shard) };
    });
  }

  async inflightIds(saleId: number): Promise<string[]> {
    return this.redis.zrange(this.keys(saleId).inflight, 0, -1);
  }

  // A 503 answer means the request had no order: its Idempotency-Key must not replay one.
  async forgetIdempotencyKey(saleId: number, buyer: string, key: string): Promise<void> {
    await this.redis.del(this.keys(saleId).idempotency(buyer, key));
  }

  // Over shards: the sum of what each shard can still give (a shard a restore took past zero
  // counts as empty).
  async remaining(saleId: number): Promise<number | null> {
    const shards = await this.shardsOf(saleId);
    if (shards !== null && shards > 1) return sumOf(await this.shardUnits.read(saleId, shards));
    const value = await this.redis.hget(this.keys(saleId).sale, 'remaining');
    return value === null ? null : Number(value);
  }

  // Each shard's remaining units, in shard order (null where a shard is not loaded); null
  // for a sale without shards or not in Redis.
  async shardRemaining(saleId: number): Promise<(number | null)[] | null> {
    const shards = await this.shardsOf(saleId);
    if (shards === null || shards <= 1) return null;
    return (await this.shardUnits.read(saleId, shards)).map((r) => r?.remaining ?? null);
  }

  async saleState(saleId: number): Promise<SaleState | null> {
    const [remaining, version, limit, starts, ends, shardCount] = await this.redis.hmget(
      this.keys(saleId).sale,
      'remaining',
      'v',
      'limit',
      'starts',
      'ends',
      'shards',
    );
    if ((remaining === null && shardCount === null) || limit === null || starts === null) {
      return null;
    }
    const shards =
      shardCount === null ? null : await this.shardUnits.read(saleId, Number(shardCount));
    const endsAtMs = Number(ends ?? 0);
    return {
      version: Number(version ?? 0),
      remaining: shards ? sumOf(shards) : Number(remaining),
      perUserLimit: Number(limit),
      startsAtMs: Number(starts),
      endsAtMs: endsAtMs > 0 ? endsAtMs : null,
      shards,
    };
  }

  async reservation(saleId: number, orderId: string): Promise<Reservation | null> {
    const [s, u, q, t, r] = await this.redis.hmget(
      this.keys(saleId).reservation(orderId),
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

  async heldBy(saleId: number, buyer: string): Promise<number> {
    return Number((await this.redis.hget(this.keys(saleId).held, buyer)) ?? 0);
  }

  // Orders reserved before `olderThan` that are neither confirmed nor released yet.
  async inflightBefore(saleId: number, olderThan: Date, limit = 500): Promise<string[]> {
    return this.redis.zrangebyscore(
      this.keys(saleId).inflight,
      '-inf',
      olderThan.getTime(),
      'LIMIT',
      0,
      limit,
    );
  }

  async inflightCount(saleId: number): Promise<number> {
    return this.redis.zcard(this.keys(saleId).inflight);
  }

  // Remaining units and the reservations in flight, read in one MULTI so both describe the
  // same instant. A reservation's quantity never changes, so it is read afterwards.
  async saleSnapshot(saleId: number): Promise<SaleSnapshot | null> {
    const k = this.keys(saleId);
    const replies = await this.redis
      .multi()
      .hget(k.sale, 'remaining')
      .zrange(k.inflight, 0, -1)
      .exec();
    const [homeRemaining, orderIds] = (replies ?? []).map(([error, value]) => {
      if (error) throw error;
      return value;
    }) as [string | null, string[]];
    // Over shards the units are in other slots: read after the in-flight set, so a unit taken
    // in between shows as an order in flight whose unit is taken (see drift.ts).
    const shards = await this.shardsOf(saleId);
    const remaining =
      shards !== null && shards > 1
        ? (await this.shardUnits.read(saleId, shards)).reduce(
            (sum, r) => sum + (r?.remaining ?? 0),
            0,
          )
        : homeRemaining;
    if (remaining === null) return null;
    const quantities = orderIds.length
      ? await this.redis.pipeline(orderIds.map((id) => ['hget', k.reservation(id), 'q'])).exec()
      : [];
    const inflight = orderIds.map((orderId, i) => ({
      orderId,
      quantity: Number(quantities?.[i]?.[1] ?? 0),
    }));
    return { remaining: Number(remaining), inflight };
  }

  // Compare-and-set of remaining: applied only if neither remaining nor the in-flight count
  // moved since `seen` was read.
  async repairRemaining(saleId: number, seen: SaleSnapshot, corrected: number): Promise<boolean> {
    const k = this.keys(saleId);
    const code = await this.redis.flRepairRemaining(
      k.sale,
      k.inflight,
      seen.remaining,
      seen.inflight.length,
      corrected,
    );
    return Number(code) === 1;
  }

  async saleIds(): Promise<number[]> {
    return (await this.redis.smembers(salesIndexKey(this.options.prefix))).map(Number);
  }
}

function sumOf(shards: readonly (ShardReading | null)[]): number {
  return shards.reduce((sum, shard) => sum + Math.max(0, shard?.remaining ?? 0), 0);
}
