import type { GateOptions } from './gate.js';
import type { ScriptTarget } from './scripts/registry.js';
import type { ShardMap } from './shard-map.js';
import type { ShardUnits } from './shard-units.js';

// What every part of the gate shares: the connection its scripts run on (with the key prefix
// and the sale events channel), its options, and what it has learnt of the sales' shards.
// Built once by the Gate; nothing outside src/gate sees it.
export type GateContext = ScriptTarget & {
  options: GateOptions;
  shardMap: ShardMap;
  shardUnits: ShardUnits;
};
