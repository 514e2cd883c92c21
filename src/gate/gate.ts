import type { RedisClient } from '../redis/connection.js';
import type { Config } from '../config.js';
import {
  homeKeys,
  homeOfBuyer,
  saleEventsChannel,
  saleKeys,
  salesIndexKey,
  shardStock,
  type HomeKeys,
} from './keys.js';
import { homeOfOrder, mintOrderId } from '../orders/order-id.js';
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
    prefix: config.redis.prefix,
    tombstoneTtlSeconds: config.gate.tombstoneTtlSeconds,
    idempotencyTtlSeconds: config.gate.idempotencyTtlSeconds,
    rateCapacity: config.gate.rateLimitCapacity,
    rateRefillPerSecond: config.gate.rateLimitRefillPerSecond,
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
// the sold-out / reopened events the scripts publish (see lua/reserve-7.lua).
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

  // The sale's own slot: its rules, its shard count, its load lock, and for a sale without
  // shards every buyer's state too.
  keys(saleId: number) {
    return saleKeys(this.options.prefix, saleId);
  }

  // Where an order's reservation lives: its buyer's home shard, which its id names, for a sale
  // over shards; the sale's own slot otherwise.
  async orderKeys(saleId: number, orderId: string): Promise<HomeKeys> {
    const shards = this.shardCounts.get(saleId) ?? (await this.shardsOf(saleId)) ?? 1;
    return homeKeys(this.options.prefix, saleId, homeOfOrder(orderId), shards);
  }

  private async buyerKeys(saleId: number, buyer: string): Promise<HomeKeys> {
    const shards = this.shardCounts.get(saleId) ?? (await this.shardsOf(saleId)) ?? 1;
    return homeKeys(this.options.prefix, saleId, homeOfBuyerIn(buyer, shards), shards);
  }

  // A new order's id: over shards it names the buyer's home, where its reservation will live.
  async mintOrderId(saleId: number, buyer: string): Promise<string> {
    const shards = this.shardCounts.get(saleId) ?? (await this.shardsOf(saleId)) ?? 1;
    return mintOrderId(saleId, homeOfBuyerIn(buyer, shards));
  }

  // Order ids grouped by the slot holding their reservations, with each one's place in `ids`:
  // a script or a pipeline on a cluster may only touch one slot.
  private async byHome(
    saleId: number,
    ids: readonly string[],
  ): Promise<{ keys: HomeKeys; at: number[] }[]> {
    const shards = this.shardCounts.get(saleId) ?? (await this.shardsOf(saleId)) ?? 1;
    return groupBy(
      ids,
      (id) => homeOfOrder(id),
      (home) => homeKeys(this.options.prefix, saleId, home, shards),
    );
  }

  // Every slot holding buyers' state: the sale's own, or each of its shards.
  private async homes(saleId: number): Promise<HomeKeys[]> {
    const shards = (await this.shardsOf(saleId)) ?? 1;
    if (shards <= 1) return [this.keys(saleId)];
    return Array.from({ length: shards }, (_, home) =>
      homeKeys(this.options.prefix, saleId, home, shards),
    );
  }

  // `restoring`: the sale may have orders already (Redis forgot it), so it is created at full
  // stock and marked loading until SaleLoader has restored them (lua/load-sale-1.lua).
  // A sale over shards has its shards loaded first (each with its share of the stock and a copy
  // of the rules, as the home of its buyers), then the sale's own hash that announces them.
  async loadSale(sale: SaleForGate, { restoring = false } = {}): Promise<boolean> {
    const shards = sale.shards ?? 1;
    const rules = [sale.perUserLimit, sale.startsAt.getTime(), sale.endsAt?.getTime() ?? 0];
    for (let shard = 0; shards > 1 && shard < shards; shard++) {
      await this.redis.flLoadSale(
        this.shardUnits.keys(sale.id, shard, shards).units,
        shardStock(sale.stock, shard, shards),
        ...rules,
        restoring ? '1' : '0',
        shards,
        shard,
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

  // Over shards a shard created again while restoring is loading too: its buyers' state is
  // not back until the restore has run.
  async isLoading(saleId: number): Promise<boolean> {
    const hashes = [this.keys(saleId).sale, ...(await this.shardHashes(saleId))];
    const flags = await Promise.all(hashes.map((hash) => this.redis.hexists(hash, 'loading')));
    return flags.some((flag) => flag === 1);
  }

  // The shards first: the sale's own flag is what a crash in between leaves to be seen.
  async finishLoading(saleId: number): Promise<void> {
    await Promise.all(
      (await this.shardHashes(saleId)).map((hash) => this.redis.hdel(hash, 'loading')),
    );
    await this.redis.hdel(this.keys(saleId).sale, 'loading');
  }

  private async shardHashes(saleId: number): Promise<string[]> {
    const shards = (await this.shardsOf(saleId)) ?? 1;
    if (shards <= 1) return [];
    return Array.from(
      { length: shards },
      (_, shard) => this.shardUnits.keys(saleId, shard, shards).units,
    );
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
    const outcomes: RestoreOutcome[] = orders.map(() => 'sale_missing');
    const groups = await this.byHome(
      saleId,
      orders.map((o) => o.orderId),
    );
    await Promise.all(
      groups.map(async ({ keys: k, at }) => {
        const group = at.map((i) => orders[i]!);
        const codes = (await this.redis.flRestore(
          group.length + 3,
          k.sale,
          k.held,
          k.inflight,
          ...group.map((o) => k.reservation(o.orderId)),
          this.options.tombstoneTtlSeconds,
          this.eventsChannel,
          saleId,
          ...group.flatMap((o) => [
            o.orderId,
            o.buyer,
            o.quantity,
            o.reservedAtMs,
            o.shard ?? -1,
            o.mode,
          ]),
        )) as number[];
        at.forEach((i, j) => (outcomes[i] = restoreOutcomes[Number(codes[j])] ?? 'sale_missing'));
      }),
    );
    return outcomes;
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
    const ttl = this.options.idempotencyTtlSeconds;
    // Each key lives at its buyer's home, the order's: grouped so a pipeline stays in a slot.
    for (const { keys: k, at } of await this.byHome(
      saleId,
      entries.map((e) => e.orderId),
    )) {
      const replies = await this.redis
        .pipeline(
          at.map((i) => {
            const e = entries[i]!;
            return ['set', k.idempotency(e.buyer, e.key), e.orderId, 'EX', ttl, 'NX'];
          }),
        )
        .exec();
      for (const [error] of replies ?? []) if (error) throw error;
    }
  }

  // Over shards the purchase runs at the buyer's home shard, which its order id must name
  // (mintOrderId): one script takes the allowance and, while that shard has one, the unit.
  // An id naming no home with the count unknown was minted for a sale Redis did not have: it
  // is not asked again, and the script answers NOT_FOUND (also to a sale over shards created
  // since, which is then recovered as a missing sale: a 503 for that one purchase).
  async reserve(request: ReserveRequest): Promise<ReserveOutcome> {
    const shards =
      this.shardCounts.get(request.saleId) ??
      (homeOfOrder(request.orderId) === null ? 1 : await this.shardsOf(request.saleId)) ??
      1;
    const home = homeOfBuyerIn(request.buyer, shards);
    if (home !== homeOfOrder(request.orderId)) {
      throw new Error(`order id ${request.orderId} does not name its buyer's home shard`);
    }
    const k = homeKeys(this.options.prefix, request.saleId, home, shards);
    const key = request.idempotencyKey;
    const reply = await this.redis.flReserve(
      k.sale,
      k.held,
      k.reservation(request.orderId),
      k.inflight,
      key ? k.idempotency(request.buyer, key) : k.idempotency(request.buyer, ''),
      k.rateBucket(request.buyer),
      k.ledger,
      request.orderId,
      request.buyer,
      request.quantity,
      key ? this.options.idempotencyTtlSeconds : 0,
      this.options.rateCapacity ?? 0,
      this.options.rateRefillPerSecond ?? 0,
      this.eventsChannel,
      request.saleId,
      this.shardUnits.firstChoice(request.saleId, shards, home),
    );
    const outcome = toReserveOutcome(reply);
    if (outcome.kind !== 'reserved' || outcome.shard === undefined) return outcome;
    if (outcome.remaining >= 0) {
      this.shardUnits.remember(request.saleId, outcome.shard, true);
      return outcome;
    }
    // The home shard had no unit: its allowance is held, the unit comes from another shard.
    this.shardUnits.remember(request.saleId, home!, false);
    return this.takeUnits(request, k, outcome.shard, outcome.shards!, outcome.reservedAtMs);
  }

  // The tail of a purchase over shards, when the buyer's home had no unit: the home holds the
  // allowance and a pending reservation naming `first`; a unit is taken there, or from each
  // other shard in turn, the reservation renamed before each try. With none anywhere, the allowance goes back
  // and the answer is SOLD_OUT (docs/sharded-sales.md).
  private async takeUnits(
    request: ReserveRequest,
    home: HomeKeys,
    first: number,
    shards: number,
    reservedAtMs: number,
  ): Promise<ReserveOutcome> {
    const { saleId, orderId, quantity } = request;
    const reservationKey = home.reservation(orderId);
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
    const outcomes: ClaimOutcome[] = orderIds.map(() => 'unknown');
    await Promise.all(
      (await this.byHome(saleId, orderIds)).map(async ({ keys: k, at }) => {
        const codes = (await this.redis.flClaim(
          at.length,
          ...at.map((i) => k.reservation(orderIds[i]!)),
        )) as number[];
        at.forEach((i, j) => (outcomes[i] = claimOutcomes[Number(codes[j])] ?? 'unknown'));
      }),
    );
    return outcomes;
  }

  async confirm(saleId: number, orderId: string): Promise<ConfirmOutcome> {
    return (await this.confirmMany(saleId, [orderId]))[0]!;
  }

  // Confirms several reservations of one sale in one script call (a group commit's orders).
  async confirmMany(saleId: number, orderIds: readonly string[]): Promise<ConfirmOutcome[]> {
    if (orderIds.length === 0) return [];
    const outcomes: ConfirmOutcome[] = orderIds.map(() => 'unknown');
    await Promise.all(
      (await this.byHome(saleId, orderIds)).map(async ({ keys: k, at }) => {
        const codes = (await this.redis.flConfirm(
          at.length + 1,
          k.inflight,
          ...at.map((i) => k.reservation(orderIds[i]!)),
          this.options.tombstoneTtlSeconds,
          ...at.map((i) => orderIds[i]!),
        )) as number[];
        at.forEach((i, j) => (outcomes[i] = confirmOutcomes[Number(codes[j])] ?? 'unknown'));
      }),
    );
    return outcomes;
  }

  async release(
    saleId: number,
    orderId: string,
    reason: string,
    { force = false } = {},
  ): Promise<ReleaseOutcome> {
    const k = await this.orderKeys(saleId, orderId);
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
    const k = await this.orderKeys(saleId, order.orderId);
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
    const replies = await this.readReservations(saleId, orderIds, ['s']);
    return replies.map(([s]) => reservationState(s));
  }

  // The state of several reservations of one sale and the shard each names (null: none, or
  // Redis has no such reservation).
  async reservationShards(
    saleId: number,
    orderIds: readonly string[],
  ): Promise<({ state: ReservationState | null; shard: number | null } | null)[]> {
    const replies = await this.readReservations(saleId, orderIds, ['s', 'k']);
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
  private async readReservations(
    saleId: number,
    orderIds: readonly string[],
    fields: readonly string[],
  ): Promise<(string | null | undefined)[][]> {
    const values: (string | null)[][] = orderIds.map(() => fields.map(() => null));
    for (const { keys: k, at } of await this.byHome(saleId, orderIds)) {
      const replies = await this.redis
        .pipeline(at.map((i) => ['hmget', k.reservation(orderIds[i]!), ...fields]))
        .exec();
      at.forEach((i, j) => {
        const [error, value] = replies?.[j] ?? [null, null];
        if (error) throw error;
        values[i] = value as (string | null)[];
      });
    }
    return values;
  }

  async inflightIds(saleId: number): Promise<string[]> {
    const homes = await this.homes(saleId);
    return (await Promise.all(homes.map((k) => this.redis.zrange(k.inflight, 0, -1)))).flat();
  }

  // A 503 answer means the request had no order: its Idempotency-Key must not replay one.
  async forgetIdempotencyKey(saleId: number, buyer: string, key: string): Promise<void> {
    await this.redis.del((await this.buyerKeys(saleId, buyer)).idempotency(buyer, key));
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
      (await this.orderKeys(saleId, orderId)).reservation(orderId),
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
    return Number((await this.redis.hget((await this.buyerKeys(saleId, buyer)).held, buyer)) ?? 0);
  }

  // Orders reserved before `olderThan` that are neither confirmed nor released yet.
  // Over shards, up to `limit` from each home.
  async inflightBefore(saleId: number, olderThan: Date, limit = 500): Promise<string[]> {
    const homes = await this.homes(saleId);
    const pages = await Promise.all(
      homes.map((k) =>
        this.redis.zrangebyscore(k.inflight, '-inf', olderThan.getTime(), 'LIMIT', 0, limit),
      ),
    );
    return pages.flat();
  }

  async inflightCount(saleId: number): Promise<number> {
    const homes = await this.homes(saleId);
    const counts = await Promise.all(homes.map((k) => this.redis.zcard(k.inflight)));
    return counts.reduce((sum, count) => sum + count, 0);
  }

  // Remaining units and the reservations in flight, read in one MULTI so both describe the
  // same instant. A reservation's quantity never changes, so it is read afterwards.
  async saleSnapshot(saleId: number): Promise<SaleSnapshot | null> {
    const shards = await this.shardsOf(saleId);
    if (shards !== null && shards > 1) return this.shardedSnapshot(saleId, shards);
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
    return { remaining: Number(remaining), inflight: await this.quantitiesOf(saleId, orderIds) };
  }

  // Over shards the homes' in-flight sets and the shards' units are in many slots: the sets are
  // read first, so a unit taken in between shows as taken for an order not yet seen in flight
  // (see drift.ts, which reads twice).
  private async shardedSnapshot(saleId: number, shards: number): Promise<SaleSnapshot | null> {
    const orderIds = await this.inflightIds(saleId);
    const readings = await this.shardUnits.read(saleId, shards);
    if (readings.every((r) => r === null)) return null;
    const remaining = readings.reduce((sum, r) => sum + (r?.remaining ?? 0), 0);
    return { remaining, inflight: await this.quantitiesOf(saleId, orderIds) };
  }

  // A reservation's quantity never changes, so it is read after the state it belongs to.
  private async quantitiesOf(saleId: number, orderIds: readonly string[]) {
    const replies = await this.readReservations(saleId, orderIds, ['q']);
    return orderIds.map((orderId, i) => ({ orderId, quantity: Number(replies[i]?.[0] ?? 0) }));
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

function homeOfBuyerIn(buyer: string, shards: number): number | null {
  return shards > 1 ? homeOfBuyer(buyer, shards) : null;
}

// Items grouped by a key (null included), each group with the places of its items.
function groupBy<K, V>(
  ids: readonly string[],
  keyOf: (id: string) => K,
  valueOf: (key: K) => V,
): { keys: V; at: number[] }[] {
  const groups = new Map<K, number[]>();
  ids.forEach((id, i) => {
    const key = keyOf(id);
    const at = groups.get(key);
    if (at) at.push(i);
    else groups.set(key, [i]);
  });
  return [...groups].map(([key, at]) => ({ keys: valueOf(key), at }));
}

function sumOf(shards: readonly (ShardReading | null)[]): number {
  return shards.reduce((sum, shard) => sum + Math.max(0, shard?.remaining ?? 0), 0);
}
