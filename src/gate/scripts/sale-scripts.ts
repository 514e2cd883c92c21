import { saleKeys, shardKeys } from '../keys.js';
import { toDone } from '../outcomes.js';
import { runScript, type ScriptTarget } from './registry.js';

export type SaleRules = {
  stock: number;
  perUserLimit: number;
  startsAtMs: number;
  // 0: open-ended.
  endsAtMs: number;
  // The sale has orders to restore: created loading (lua/load-sale-1.lua).
  restoring: boolean;
  shards: number;
  // Fixed at creation; the API reads them with the sale's state (inspection.ts, saleState).
  features: readonly string[];
};

// lua/load-sale-1.lua on the sale's own hash, or with `shard` on that shard's units hash
// (its share of the stock in `rules.stock`). True when it was created by this call.
export async function loadSaleScript(
  target: ScriptTarget,
  saleId: number,
  rules: SaleRules,
  shard?: number,
): Promise<boolean> {
  const key =
    shard === undefined
      ? saleKeys(target.prefix, saleId).sale
      : shardKeys(target.prefix, saleId, shard, rules.shards).units;
  const args = [
    rules.stock,
    rules.perUserLimit,
    rules.startsAtMs,
    rules.endsAtMs,
    rules.restoring ? '1' : '0',
    rules.shards,
    shard ?? -1,
    rules.features.join(' '),
  ];
  return toDone(await runScript(target, 'loadSale', [key], args), 'load-sale-1', ['UPDATED']);
}

// lua/unlock-1.lua on the sale's load lock: false when the lock was not the caller's.
export async function unlockLoadScript(
  target: ScriptTarget,
  saleId: number,
  token: string,
): Promise<boolean> {
  const key = saleKeys(target.prefix, saleId).loadLock;
  return toDone(await runScript(target, 'unlock', [key], [token]), 'unlock-1', ['NOT_OURS']);
}

// lua/repair-remaining-2.lua: applied only while the sale is as `seen` read it.
export async function repairRemainingScript(
  target: ScriptTarget,
  saleId: number,
  seen: { remaining: number; inflight: number },
  corrected: number,
): Promise<boolean> {
  const k = saleKeys(target.prefix, saleId);
  const args = [seen.remaining, seen.inflight, corrected];
  const reply = await runScript(target, 'repairRemaining', [k.sale, k.inflight], args);
  return toDone(reply, 'repair-remaining-2', ['STALE', 'LOADING']);
}
