import { homeKeys, type HomeKeys } from '../keys.js';
import type { ScriptTarget } from './registry.js';

// Where a buyer's state lives (docs/sharded-sales.md): a sale's own slot (home null, or a sale
// without shards), or the shard `home` of `shards` that is the buyer's home.
export type Home = { saleId: number; home: number | null; shards: number };

export function keysOf(target: ScriptTarget, at: Home): HomeKeys {
  return homeKeys(target.prefix, at.saleId, at.home, at.shards);
}

// The keys a script that moves one reservation's units takes first, in this order: the home's
// sale hash, its held hash, the reservation, its in-flight set.
export function reservationKeys(k: HomeKeys, orderId: string): string[] {
  return [k.sale, k.held, k.reservation(orderId), k.inflight];
}
