import type { RedisClient } from '../redis/connection.js';
import type { Config } from '../config.js';
import type { GateContext } from './context.js';
import { saleEventsChannel, saleKeys } from './keys.js';
import * as changes from './changes.js';
import * as inspection from './inspection.js';
import * as lifecycle from './lifecycle.js';
import * as loading from './loading.js';
import type {
  ClaimOutcome,
  ConfirmOutcome,
  GiveBackOutcome,
  ReleaseOutcome,
  ReservationState,
  ReserveOutcome,
  RestoreOutcome,
  ReturnOutcome,
  ShardRepair,
  TakeOutcome,
} from './outcomes.js';
import * as purchase from './purchase.js';
import * as restore from './restore.js';
import { defineScripts } from './scripts/registry.js';
import { ShardMap } from './shard-map.js';
import { ShardUnits } from './shard-units.js';

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

export type { SaleForGate } from './loading.js';
export type { SaleSettings, SettingsOutcome } from './changes.js';
export type { ReserveRequest } from './purchase.js';
export type { OrderToRestore } from './restore.js';
export type { OrderToReturn } from './lifecycle.js';
export type { Reservation, SaleSnapshot, SaleState } from './inspection.js';

// The only door to the gate's Redis state: every transition goes through one Lua script.
// The parts: ./purchase.ts, ./lifecycle.ts, ./loading.ts, ./restore.ts, ./inspection.ts, over
// ./shard-map.ts (where each sale's state lives) and ./shard-units.ts (a sale's shards).
export class Gate {
  // The channel the scripts publish sale events on (./sale-event.ts reads them).
  readonly eventsChannel: string;
  readonly #ctx: GateContext;

  constructor(redis: RedisClient, options: GateOptions) {
    this.eventsChannel = saleEventsChannel(options.prefix);
    defineScripts(redis);
    const target = { redis, prefix: options.prefix, channel: this.eventsChannel };
    const shardMap = new ShardMap(target);
    this.#ctx = { ...target, options, shardMap, shardUnits: new ShardUnits(target) };
  }

  // How many shards the sale's units are spread over (1: none); null when Redis does not
  // have the sale.
  shardsOf(saleId: number): Promise<number | null> {
    return this.#ctx.shardMap.shardsOf(saleId);
  }

  // Purchase.
  mintOrderId(saleId: number, buyer: string): Promise<string> {
    return purchase.newOrderId(this.#ctx, saleId, buyer);
  }

  reserve(request: purchase.ReserveRequest): Promise<ReserveOutcome> {
    return purchase.reserve(this.#ctx, request);
  }

  // The reservation after its purchase.
  async claim(saleId: number, orderId: string): Promise<ClaimOutcome> {
    return (await lifecycle.claimMany(this.#ctx, saleId, [orderId]))[0]!;
  }

  claimMany(saleId: number, orderIds: readonly string[]): Promise<ClaimOutcome[]> {
    return lifecycle.claimMany(this.#ctx, saleId, orderIds);
  }

  async confirm(saleId: number, orderId: string): Promise<ConfirmOutcome> {
    return (await lifecycle.confirmMany(this.#ctx, saleId, [orderId]))[0]!;
  }

  confirmMany(saleId: number, orderIds: readonly string[]): Promise<ConfirmOutcome[]> {
    return lifecycle.confirmMany(this.#ctx, saleId, orderIds);
  }

  release(
    saleId: number,
    orderId: string,
    reason: string,
    options: { force?: boolean } = {},
  ): Promise<ReleaseOutcome> {
    return lifecycle.release(this.#ctx, saleId, orderId, reason, options);
  }

  returnUnits(
    saleId: number,
    order: lifecycle.OrderToReturn,
    reason: 'expired' | 'cancelled',
  ): Promise<ReturnOutcome> {
    return lifecycle.returnUnits(this.#ctx, saleId, order, reason);
  }

  forgetIdempotencyKey(saleId: number, buyer: string, key: string): Promise<void> {
    return lifecycle.forgetIdempotencyKey(this.#ctx, saleId, buyer, key);
  }

  // Loading a sale, and loading it back.
  loadSale(
    sale: loading.SaleForGate,
    options: { restoring?: boolean; shardStocks?: number[] } = {},
  ): Promise<boolean> {
    return loading.loadSale(this.#ctx, sale, options);
  }

  // An admin's change (API.md, Operating a sale), on every hash of the sale.
  applySettings(
    settings: changes.SaleSettings,
    options: { force: boolean },
  ): Promise<changes.SettingsOutcome> {
    return changes.applySettings(this.#ctx, settings, options);
  }

  settingsDiffer(settings: changes.SaleSettings): Promise<boolean> {
    return changes.settingsDiffer(this.#ctx, settings);
  }

  // Whether the kill switch is on, as the reserve script sees it: for the waiting room's join.
  async isPaused(saleId: number): Promise<boolean> {
    return (await this.#ctx.redis.hget(saleKeys(this.#ctx.prefix, saleId).sale, 'paused')) === '1';
  }

  lockLoad(saleId: number, token: string, ttlMs: number): Promise<boolean> {
    return loading.lockLoad(this.#ctx, saleId, token, ttlMs);
  }

  unlockLoad(saleId: number, token: string): Promise<void> {
    return loading.unlockLoad(this.#ctx, saleId, token);
  }

  isLoading(saleId: number): Promise<boolean> {
    return loading.isLoading(this.#ctx, saleId);
  }

  finishLoading(saleId: number): Promise<void> {
    return loading.finishLoading(this.#ctx, saleId);
  }

  restore(saleId: number, orders: readonly restore.OrderToRestore[]): Promise<RestoreOutcome[]> {
    return restore.restore(this.#ctx, saleId, orders);
  }

  restoreIdempotencyKeys(
    saleId: number,
    entries: readonly { buyer: string; key: string; orderId: string }[],
  ): Promise<void> {
    return restore.restoreIdempotencyKeys(this.#ctx, saleId, entries);
  }

  // Reading the gate's state.
  remaining(saleId: number): Promise<number | null> {
    return inspection.remaining(this.#ctx, saleId);
  }

  shardRemaining(saleId: number): Promise<(number | null)[] | null> {
    return inspection.shardRemaining(this.#ctx, saleId);
  }

  saleState(saleId: number): Promise<inspection.SaleState | null> {
    return inspection.saleState(this.#ctx, saleId);
  }

  saleIds(): Promise<number[]> {
    return inspection.saleIds(this.#ctx);
  }

  reservation(saleId: number, orderId: string): Promise<inspection.Reservation | null> {
    return inspection.reservation(this.#ctx, saleId, orderId);
  }

  reservationStates(
    saleId: number,
    orderIds: readonly string[],
  ): Promise<(ReservationState | null)[]> {
    return inspection.reservationStates(this.#ctx, saleId, orderIds);
  }

  reservationShards(
    saleId: number,
    orderIds: readonly string[],
  ): Promise<({ state: ReservationState | null; shard: number | null } | null)[]> {
    return inspection.reservationShards(this.#ctx, saleId, orderIds);
  }

  inflightIds(saleId: number): Promise<string[]> {
    return inspection.inflightIds(this.#ctx, saleId);
  }

  inflightBefore(saleId: number, olderThan: Date, limit?: number): Promise<string[]> {
    return inspection.inflightBefore(this.#ctx, saleId, olderThan, limit);
  }

  saleSnapshot(saleId: number): Promise<inspection.SaleSnapshot | null> {
    return inspection.saleSnapshot(this.#ctx, saleId);
  }

  repairRemaining(
    saleId: number,
    seen: inspection.SaleSnapshot,
    corrected: { remaining: number; stock: number },
  ): Promise<boolean> {
    return inspection.repairRemaining(this.#ctx, saleId, seen, corrected);
  }

  // The reconciler's sweep of a sale over shards (src/compensator/shard-sweep.ts): each
  // shard's ledger, a unit given back or taken again, a shard set right against its ledger.
  shardLedger(saleId: number, shard: number, shards: number): Promise<Map<string, number>> {
    return this.#ctx.shardUnits.ledger({ saleId, shard, shards });
  }

  giveBackShardUnits(
    saleId: number,
    shard: number,
    shards: number,
    orderId: string,
  ): Promise<GiveBackOutcome> {
    return this.#ctx.shardUnits.giveBack({ saleId, shard, shards }, orderId);
  }

  // Takes an order's units on its shard even past zero: PostgreSQL or a claim holds it sold.
  retakeShardUnits(
    saleId: number,
    shard: number,
    shards: number,
    order: { orderId: string; quantity: number },
  ): Promise<TakeOutcome> {
    const at = { saleId, shard, shards };
    return this.#ctx.shardUnits.take(at, order.orderId, order.quantity, { force: true });
  }

  repairShard(saleId: number, shard: number, shards: number): Promise<ShardRepair> {
    return this.#ctx.shardUnits.repair({ saleId, shard, shards });
  }
}
