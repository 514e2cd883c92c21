import type { RedisClient } from '../redis/connection.js';
import type { Config } from '../config.js';
import { saleEventsChannel, saleKeys, salesIndexKey } from './keys.js';
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
};

export type SaleSnapshot = {
  remaining: number;
  inflight: { orderId: string; quantity: number }[];
};

// The only door to the gate's Redis state: every transition goes through one Lua script.
export class Gate {
  readonly redis: ScriptedRedis;
  readonly eventsChannel: string;

  constructor(
    redis: RedisClient,
    private readonly options: GateOptions,
  ) {
    this.redis = withScripts(redis);
    this.eventsChannel = saleEventsChannel(options.prefix);
  }

  keys(saleId: number) {
    return saleKeys(this.options.prefix, saleId);
  }

  // `restoring`: the sale may have orders already (Redis forgot it), so it is created at full
  // stock and marked loading until SaleLoader has restored them (lua/load-sale-1.lua).
  async loadSale(sale: SaleForGate, { restoring = false } = {}): Promise<boolean> {
    const loaded = await this.redis.flLoadSale(
      this.keys(sale.id).sale,
      sale.stock,
      sale.perUserLimit,
      sale.startsAt.getTime(),
      sale.endsAt?.getTime() ?? 0,
      restoring ? '1' : '0',
    );
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
  async restore(saleId: number, orders: readonly OrderToRestore[]): Promise<RestoreOutcome[]> {
    if (orders.length === 0) return [];
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
      ...orders.flatMap((o) => [o.orderId, o.buyer, o.quantity, o.reservedAtMs, o.mode]),
    )) as number[];
    return orders.map((_, i) => restoreOutcomes[Number(codes[i])] ?? 'sale_missing');
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
    );
    return toReserveOutcome(reply);
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
    return toReleaseOutcome(reply);
  }

  // Gives an expired or cancelled order's units back (lua/return-4.lua); the caller has
  // committed the order's row first.
  async returnUnits(
    saleId: number,
    order: { orderId: string; buyer: string; quantity: number; reservedAt: Date },
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
    return toReturnOutcome(reply);
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

  // A 503 answer means the request had no order: its Idempotency-Key must not replay one.
  async forgetIdempotencyKey(saleId: number, buyer: string, key: string): Promise<void> {
    await this.redis.del(this.keys(saleId).idempotency(buyer, key));
  }

  async remaining(saleId: number): Promise<number | null> {
    const value = await this.redis.hget(this.keys(saleId).sale, 'remaining');
    return value === null ? null : Number(value);
  }

  async saleState(saleId: number): Promise<SaleState | null> {
    const [remaining, version, limit, starts, ends] = await this.redis.hmget(
      this.keys(saleId).sale,
      'remaining',
      'v',
      'limit',
      'starts',
      'ends',
    );
    if (remaining === null || limit === null || starts === null) return null;
    const endsAtMs = Number(ends ?? 0);
    return {
      version: Number(version ?? 0),
      remaining: Number(remaining),
      perUserLimit: Number(limit),
      startsAtMs: Number(starts),
      endsAtMs: endsAtMs > 0 ? endsAtMs : null,
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
    const [remaining, orderIds] = (replies ?? []).map(([error, value]) => {
      if (error) throw error;
      return value;
    }) as [string | null, string[]];
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
