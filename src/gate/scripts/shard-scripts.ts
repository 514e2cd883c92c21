import { shardKeys } from '../keys.js';
import {
  toGiveBackOutcome,
  toShardRepair,
  toTakeOutcome,
  type GiveBackOutcome,
  type ShardRepair,
  type TakeOutcome,
} from '../outcomes.js';
import { runScript, type ScriptTarget } from './registry.js';

// One shard of a sale over shards: its units hash and its ledger (docs/sharded-sales.md).
export type Shard = { saleId: number; shard: number; shards: number };

function keysOf(target: ScriptTarget, at: Shard) {
  return shardKeys(target.prefix, at.saleId, at.shard, at.shards);
}

// lua/take-2.lua; `force` takes past zero (an order PostgreSQL holds as sold).
export async function takeScript(
  target: ScriptTarget,
  at: Shard,
  take: { orderId: string; quantity: number; force: boolean },
): Promise<TakeOutcome> {
  const k = keysOf(target, at);
  const reply = await runScript(
    target,
    'take',
    [k.units, k.ledger],
    [take.orderId, take.quantity, take.force ? '1' : '0', target.channel, at.saleId, at.shard],
  );
  return toTakeOutcome(reply);
}

// lua/give-back-2.lua: the order's units back to the shard, if its ledger still has them.
export async function giveBackScript(
  target: ScriptTarget,
  at: Shard,
  orderId: string,
): Promise<GiveBackOutcome> {
  const k = keysOf(target, at);
  const args = [orderId, target.channel, at.saleId, at.shard];
  return toGiveBackOutcome(await runScript(target, 'giveBack', [k.units, k.ledger], args));
}

// lua/repair-shard-2.lua: the shard's remaining set from its stock and ledger.
export async function repairShardScript(target: ScriptTarget, at: Shard): Promise<ShardRepair> {
  const k = keysOf(target, at);
  return toShardRepair(await runScript(target, 'repairShard', [k.units, k.ledger], []));
}
