import type { GateContext } from './context.js';
import { saleKeys, salesIndexKey, shardStock } from './keys.js';
import { loadSaleScript, unlockLoadScript, type SaleRules } from './scripts/sale-scripts.js';

export type SaleForGate = {
  id: number;
  stock: number;
  perUserLimit: number;
  startsAt: Date;
  endsAt: Date | null;
  // 1 (or absent): the units live in the sale's hash; more: spread over shards.
  shards?: number;
  // Each solution must carry a solved challenge (API.md, proof of work).
  proofOfWork?: boolean;
  // Bought through a waiting room: a purchase needs a pass (API.md, waiting room).
  waitingRoom?: boolean;
  // The kill switch (API.md, Operating a sale): a sale loaded back stays as last changed.
  paused?: boolean;
};

// What the API must know of a sale before its first purchase, kept beside its rules.
export type SaleFeature = 'pow' | 'room';

function featuresOf(sale: SaleForGate): SaleFeature[] {
  const features: SaleFeature[] = [];
  if (sale.proofOfWork) features.push('pow');
  if (sale.waitingRoom) features.push('room');
  return features;
}

// `restoring`: the sale may have orders already (Redis forgot it), so it is created at full
// stock and marked loading until SaleLoader has restored them (lua/load-sale-1.lua).
// A sale over shards has its shards loaded first (each with its share of the stock and a copy
// of the rules, as the home of its buyers), then the sale's own hash that announces them.
// `shardStocks`: each shard's stock when created, instead of the even split (a sale loaded back
// after an admin took units back from some shards: src/recovery/sale-loader.ts).
export async function loadSale(
  ctx: GateContext,
  sale: SaleForGate,
  { restoring = false, shardStocks }: { restoring?: boolean; shardStocks?: number[] } = {},
): Promise<boolean> {
  const shards = sale.shards ?? 1;
  const rules: SaleRules = {
    stock: sale.stock,
    perUserLimit: sale.perUserLimit,
    startsAtMs: sale.startsAt.getTime(),
    endsAtMs: sale.endsAt?.getTime() ?? 0,
    restoring,
    shards,
    features: featuresOf(sale),
    paused: sale.paused ?? false,
  };
  for (let shard = 0; shards > 1 && shard < shards; shard++) {
    const stock = shardStocks?.[shard] ?? shardStock(sale.stock, shard, shards);
    await loadSaleScript(ctx, sale.id, { ...rules, stock }, shard);
  }
  const loaded = await loadSaleScript(ctx, sale.id, rules);
  ctx.shardMap.remember(sale.id, shards);
  await ctx.redis.sadd(salesIndexKey(ctx.prefix), String(sale.id));
  return loaded;
}

// Takes the lock under which one process loads a sale back; false when another holds it.
export async function lockLoad(
  ctx: GateContext,
  saleId: number,
  token: string,
  ttlMs: number,
): Promise<boolean> {
  const key = saleKeys(ctx.prefix, saleId).loadLock;
  return (await ctx.redis.set(key, token, 'PX', ttlMs, 'NX')) === 'OK';
}

export async function unlockLoad(ctx: GateContext, saleId: number, token: string): Promise<void> {
  await unlockLoadScript(ctx, saleId, token);
}

// Over shards a shard created again while restoring is loading too: its buyers' state is
// not back until the restore has run.
export async function isLoading(ctx: GateContext, saleId: number): Promise<boolean> {
  const hashes = [saleKeys(ctx.prefix, saleId).sale, ...(await shardHashes(ctx, saleId))];
  const flags = await Promise.all(hashes.map((hash) => ctx.redis.hexists(hash, 'loading')));
  return flags.some((flag) => flag === 1);
}

// The shards first: the sale's own flag is what a crash in between leaves to be seen.
export async function finishLoading(ctx: GateContext, saleId: number): Promise<void> {
  await Promise.all(
    (await shardHashes(ctx, saleId)).map((hash) => ctx.redis.hdel(hash, 'loading')),
  );
  await ctx.redis.hdel(saleKeys(ctx.prefix, saleId).sale, 'loading');
}

async function shardHashes(ctx: GateContext, saleId: number): Promise<string[]> {
  return (await ctx.shardMap.shards(saleId)).map((at) => ctx.shardUnits.unitsKey(at));
}
