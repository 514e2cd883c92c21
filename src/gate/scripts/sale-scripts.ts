import { saleKeys, shardKeys } from '../keys.js';
import { toChangeOutcome, toDone, type ChangeOutcome } from '../outcomes.js';
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
  // The kill switch (lua/change-sale-1.lua changes it later).
  paused: boolean;
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
    rules.paused ? '1' : '0',
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
  corrected: { remaining: number; stock: number },
): Promise<boolean> {
  const k = saleKeys(target.prefix, saleId);
  const args = [seen.remaining, seen.inflight, corrected.remaining, corrected.stock];
  const reply = await runScript(target, 'repairRemaining', [k.sale, k.inflight], args);
  return toDone(reply, 'repair-remaining-2', ['STALE', 'LOADING']);
}

// An admin's change as one hash of the sale takes it (lua/change-sale-1.lua).
export type HashChange = {
  // The hash's new total of units; null leaves its stock as it is.
  stock: number | null;
  perUserLimit: number;
  // 0: open-ended.
  endsAtMs: number;
  paused: boolean;
  // PostgreSQL holds the change already: remaining may go below 0.
  force: boolean;
};

// lua/change-sale-1.lua on the sale's own hash, or with `shard` on that shard's units hash.
export async function changeSaleScript(
  target: ScriptTarget,
  at: { saleId: number; shard?: number; shards: number },
  change: HashChange,
): Promise<ChangeOutcome> {
  const key =
    at.shard === undefined
      ? saleKeys(target.prefix, at.saleId).sale
      : shardKeys(target.prefix, at.saleId, at.shard, at.shards).units;
  const args = [
    change.stock === null ? '' : change.stock,
    change.perUserLimit,
    change.endsAtMs,
    change.paused ? '1' : '0',
    change.force ? '1' : '0',
    target.channel,
    at.saleId,
    at.shard ?? '',
  ];
  return toChangeOutcome(await runScript(target, 'changeSale', [key], args));
}
