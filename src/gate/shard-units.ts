import { shardKeys } from './keys.js';
import type { GiveBackOutcome, ShardRepair, TakeOutcome } from './outcomes.js';
import type { ScriptTarget } from './scripts/registry.js';
import {
  giveBackScript,
  repairShardScript,
  takeScript,
  type Shard,
} from './scripts/shard-scripts.js';

export type ShardReading = { remaining: number; version: number };

// The units of sales over shards (docs/sharded-sales.md): each shard is a units hash and a
// ledger of the orders holding its units, under a hash tag of its own, changed only by
// lua/take-2.lua and lua/give-back-2.lua, and by the reserve script when a buyer homed on the
// shard takes its unit (./purchase.ts). This is the tail of a purchase: a unit from another
// shard than the buyer's home, and every give-back.
export class ShardUnits {
  // Shards this process last found without units, per sale: tried last, never skipped, so a
  // unit left anywhere is still found before a buyer is told SOLD_OUT.
  private readonly emptySeen = new Map<number, Set<number>>();

  constructor(private readonly target: ScriptTarget) {}

  // The shard a purchase tries when its home has no unit: one this process has not seen
  // empty, other than the home, at random, so the buyers of an empty home spread over the
  // other shards. -1 lets the reserve script choose.
  firstChoice(saleId: number, shards: number, home: number | null): number {
    if (shards <= 1) return -1;
    const empty = this.emptySeen.get(saleId);
    const start = Math.floor(Math.random() * shards);
    for (let i = 0; i < shards; i++) {
      const shard = (start + i) % shards;
      if (shard !== home && !empty?.has(shard)) return shard;
    }
    return start;
  }

  // Every other shard, after `first`: those not seen empty first, each in turn from `first`.
  nextChoices(saleId: number, first: number, shards: number): number[] {
    const empty = this.emptySeen.get(saleId);
    const others = Array.from({ length: shards - 1 }, (_, i) => (first + 1 + i) % shards);
    return [...others.filter((s) => !empty?.has(s)), ...others.filter((s) => empty?.has(s))];
  }

  async take(
    at: Shard,
    orderId: string,
    quantity: number,
    { force = false } = {},
  ): Promise<TakeOutcome> {
    const outcome = await takeScript(this.target, at, { orderId, quantity, force });
    this.remember(at.saleId, at.shard, outcome !== 'empty');
    return outcome;
  }

  async giveBack(at: Shard, orderId: string): Promise<GiveBackOutcome> {
    const outcome = await giveBackScript(this.target, at, orderId);
    if (outcome.givenBack) this.remember(at.saleId, at.shard, true);
    return outcome;
  }

  // Each shard's remaining units and transition counter, in shard order (null: not loaded).
  // Sent together but not as one pipeline: on a cluster the shards are in different slots.
  async read(saleId: number, shards: number): Promise<(ShardReading | null)[]> {
    const readings = await Promise.all(
      Array.from({ length: shards }, (_, shard) =>
        this.target.redis.hmget(this.unitsKey({ saleId, shard, shards }), 'remaining', 'v'),
      ),
    );
    return readings.map(([remaining, version]) =>
      remaining === null ? null : { remaining: Number(remaining), version: Number(version ?? 0) },
    );
  }

  // The orders holding units of one shard, with their units.
  async ledger(at: Shard): Promise<Map<string, number>> {
    const k = shardKeys(this.target.prefix, at.saleId, at.shard, at.shards);
    const entries = await this.target.redis.hgetall(k.ledger);
    return new Map(Object.entries(entries).map(([orderId, units]) => [orderId, Number(units)]));
  }

  // lua/repair-shard-2.lua: the shard's remaining set from its stock and ledger.
  repair(at: Shard): Promise<ShardRepair> {
    return repairShardScript(this.target, at);
  }

  unitsKey(at: Shard): string {
    return shardKeys(this.target.prefix, at.saleId, at.shard, at.shards).units;
  }

  remember(saleId: number, shard: number, hasUnits: boolean): void {
    let empty = this.emptySeen.get(saleId);
    if (hasUnits) {
      empty?.delete(shard);
      return;
    }
    if (!empty) this.emptySeen.set(saleId, (empty = new Set()));
    empty.add(shard);
  }
}
