import { shardKeys } from './keys.js';
import type { ScriptedRedis } from './scripts.js';

export type TakeOutcome = 'taken' | 'held' | 'empty' | 'missing';
const takeOutcomes: Record<number, TakeOutcome> = {
  1: 'taken',
  2: 'held',
  0: 'empty',
  [-1]: 'missing',
};

export type ShardReading = { remaining: number; version: number };

// The units of sales over shards (docs/sharded-sales.md): each shard is a units hash and a
// ledger of the orders holding its units, under a hash tag of its own, changed only by
// lua/take-2.lua and lua/give-back-2.lua, and by the reserve script when a buyer homed on the
// shard takes its unit (Gate). This is the tail of a purchase: a unit from another shard than
// the buyer's home, and every give-back.
export class ShardUnits {
  // Shards this process last found without units, per sale: tried last, never skipped, so a
  // unit left anywhere is still found before a buyer is told SOLD_OUT.
  private readonly emptySeen = new Map<number, Set<number>>();

  constructor(
    private readonly redis: ScriptedRedis,
    private readonly prefix: string,
    private readonly eventsChannel: string,
  ) {}

  keys(saleId: number, shard: number, shards: number) {
    return shardKeys(this.prefix, saleId, shard, shards);
  }

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
    saleId: number,
    shard: number,
    shards: number,
    orderId: string,
    quantity: number,
    { force = false } = {},
  ): Promise<TakeOutcome> {
    const k = this.keys(saleId, shard, shards);
    const [code] = (await this.redis.flTake(
      k.units,
      k.ledger,
      orderId,
      quantity,
      force ? '1' : '0',
      this.eventsChannel,
      saleId,
      shard,
    )) as [number, number, number];
    const outcome = takeOutcomes[Number(code)] ?? 'missing';
    this.remember(saleId, shard, outcome !== 'empty');
    return outcome;
  }

  // True when this call gave the units back; false when the ledger no longer had them.
  async giveBack(saleId: number, shard: number, shards: number, orderId: string) {
    const k = this.keys(saleId, shard, shards);
    const [code, remaining] = (await this.redis.flGiveBack(
      k.units,
      k.ledger,
      orderId,
      this.eventsChannel,
      saleId,
      shard,
    )) as [number, number];
    if (Number(code) === 1) this.remember(saleId, shard, true);
    return { givenBack: Number(code) === 1, remaining: Number(remaining) };
  }

  // Each shard's remaining units and transition counter, in shard order (null: not loaded).
  // Sent together but not as one pipeline: on a cluster the shards are in different slots.
  async read(saleId: number, shards: number): Promise<(ShardReading | null)[]> {
    const readings = await Promise.all(
      Array.from({ length: shards }, (_, shard) =>
        this.redis.hmget(this.keys(saleId, shard, shards).units, 'remaining', 'v'),
      ),
    );
    return readings.map(([remaining, version]) =>
      remaining === null ? null : { remaining: Number(remaining), version: Number(version ?? 0) },
    );
  }

  // The orders holding units of one shard, with their units.
  async ledger(saleId: number, shard: number, shards: number): Promise<Map<string, number>> {
    const entries = await this.redis.hgetall(this.keys(saleId, shard, shards).ledger);
    return new Map(Object.entries(entries).map(([orderId, units]) => [orderId, Number(units)]));
  }

  // lua/repair-shard-2.lua: the shard's remaining set from its stock and ledger.
  async repair(saleId: number, shard: number, shards: number) {
    const k = this.keys(saleId, shard, shards);
    const [drift, remaining, loaded] = (await this.redis.flRepairShard(k.units, k.ledger)) as [
      number,
      number,
      number,
    ];
    return { drift: Number(drift), remaining: Number(remaining), loaded: Number(loaded) === 1 };
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
