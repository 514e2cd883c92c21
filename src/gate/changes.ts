import type { GateContext } from './context.js';
import { saleKeys, shardStock } from './keys.js';
import type { ChangeOutcome } from './outcomes.js';
import { changeSaleScript, type HashChange } from './scripts/sale-scripts.js';

// A sale as an admin leaves it (API.md, Operating a sale): its total of units and its rules.
export type SaleSettings = {
  saleId: number;
  stock: number;
  perUserLimit: number;
  endsAt: Date | null;
  paused: boolean;
};

export type SettingsOutcome =
  | { kind: 'changed' }
  // Not forced: fewer unsold units than the change takes back; nothing is changed.
  | { kind: 'in_use'; available: number }
  | { kind: 'loading' }
  | { kind: 'missing' };

type ShardCount = { stock: number; remaining: number };

// `force`: PostgreSQL holds these settings already, so they are applied whatever the units
// in use (see docs/sale-changes.md). Without it a take-back the gate's counts cannot give is
// refused, checked by the script of each hash that gives units, so a racing purchase cannot
// slip between the check and the change.
export async function applySettings(
  ctx: GateContext,
  settings: SaleSettings,
  { force }: { force: boolean },
): Promise<SettingsOutcome> {
  const shards = await ctx.shardMap.shardsOf(settings.saleId);
  if (shards === null) return { kind: 'missing' };
  const change = (stock: number | null): HashChange => ({
    stock,
    perUserLimit: settings.perUserLimit,
    endsAtMs: settings.endsAt?.getTime() ?? 0,
    paused: settings.paused,
    force,
  });
  if (shards > 1) {
    const outcome = await applyOverShards(ctx, settings, shards, change, force);
    if (outcome.kind !== 'changed') return outcome;
  }
  const at = { saleId: settings.saleId, shards };
  return settingsOutcome(await changeSaleScript(ctx, at, change(settings.stock)));
}

function settingsOutcome(outcome: ChangeOutcome): SettingsOutcome {
  return outcome.kind === 'changed' ? { kind: 'changed' } : outcome;
}

// Each shard in turn (they are in different slots); a shard that refuses undoes the shards
// already changed, to their stock before, so a refused change leaves the units as they were.
async function applyOverShards(
  ctx: GateContext,
  settings: SaleSettings,
  shards: number,
  change: (stock: number | null) => HashChange,
  force: boolean,
): Promise<SettingsOutcome> {
  const counts = await readShards(ctx, settings.saleId, shards);
  if (counts === null) return { kind: 'loading' };
  const plan = planShardStocks(counts, settings.stock, force);
  if (plan === null) {
    const available = counts.reduce((sum, c) => sum + Math.max(0, c.remaining), 0);
    return { kind: 'in_use', available };
  }
  const done: number[] = [];
  for (let shard = 0; shard < shards; shard++) {
    const at = { saleId: settings.saleId, shard, shards };
    const outcome = await changeSaleScript(ctx, at, change(plan[shard]!));
    if (outcome.kind === 'changed') {
      done.push(shard);
      continue;
    }
    for (const back of done) {
      const undo = { ...change(counts[back]!.stock), force: true };
      await changeSaleScript(ctx, { saleId: settings.saleId, shard: back, shards }, undo);
    }
    return settingsOutcome(outcome);
  }
  return { kind: 'changed' };
}

// Whether any hash of the sale holds other settings than these (a crash between PostgreSQL's
// commit and the gate, or a change that lost a race with the reconciler): the reconciler then
// applies PostgreSQL's, forced. False for a sale Redis does not hold, or holds half loaded.
export async function settingsDiffer(ctx: GateContext, settings: SaleSettings): Promise<boolean> {
  const shards = await ctx.shardMap.shardsOf(settings.saleId);
  if (shards === null) return false;
  const keys = [saleKeys(ctx.prefix, settings.saleId).sale];
  for (let shard = 0; shards > 1 && shard < shards; shard++) {
    keys.push(ctx.shardUnits.unitsKey({ saleId: settings.saleId, shard, shards }));
  }
  const fields = ['stock', 'limit', 'ends', 'paused', 'loading'] as const;
  const readings = await Promise.all(keys.map((key) => ctx.redis.hmget(key, ...fields)));
  const ends = String(settings.endsAt?.getTime() ?? 0);
  const paused = settings.paused ? '1' : '0';
  let shardStocks = 0;
  for (const [i, [stock, limit, end, pause, loading]] of readings.entries()) {
    if (stock === null || loading !== null) return false;
    if (limit !== String(settings.perUserLimit) || end !== ends || (pause ?? '0') !== paused) {
      return true;
    }
    if (i > 0) shardStocks += Number(stock);
    else if (Number(stock) !== settings.stock) return true;
  }
  return shards > 1 && shardStocks !== settings.stock;
}

async function readShards(
  ctx: GateContext,
  saleId: number,
  shards: number,
): Promise<ShardCount[] | null> {
  const readings = await Promise.all(
    Array.from({ length: shards }, (_, shard) =>
      ctx.redis.hmget(ctx.shardUnits.unitsKey({ saleId, shard, shards }), 'stock', 'remaining'),
    ),
  );
  const counts: ShardCount[] = [];
  for (const [stock, remaining] of readings) {
    // A shard Redis forgot is being loaded back: its counts are not yet true.
    if (stock === null || remaining === null) return null;
    counts.push({ stock: Number(stock), remaining: Number(remaining) });
  }
  return counts;
}

// Each shard's new stock for a sale total of `target`: added units spread evenly (as the
// stock is at creation), units taken back from the shards with the most unsold first. Null
// when the shards' unsold units cannot give what is taken back (and not forced); forced, the
// rest is taken from the last shards, below their units in use.
export function planShardStocks(
  counts: readonly ShardCount[],
  target: number,
  force: boolean,
): number[] | null {
  const stocks = counts.map((c) => c.stock);
  const delta = target - stocks.reduce((sum, s) => sum + s, 0);
  if (delta >= 0) return stocks.map((s, i) => s + shardStock(delta, i, stocks.length));
  let left = -delta;
  const byUnsold = counts.map((c, i) => ({ i, unsold: Math.max(0, c.remaining) }));
  byUnsold.sort((a, b) => b.unsold - a.unsold || a.i - b.i);
  for (const { i, unsold } of byUnsold) {
    const taken = Math.min(unsold, left);
    stocks[i] = stocks[i]! - taken;
    left -= taken;
  }
  if (left > 0 && !force) return null;
  for (let i = stocks.length - 1; left > 0 && i >= 0; i--) {
    const taken = Math.min(stocks[i]!, left);
    stocks[i] = stocks[i]! - taken;
    left -= taken;
  }
  return stocks;
}
