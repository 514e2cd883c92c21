import { spreadTag } from '../redis/slots.js';

// Every Redis key of the gate is built here. All keys of one sale share the hash tag
// {sale:<id>}, so each Lua script touches a single Redis Cluster slot. A sale over shards
// keeps its units in shards, each under a tag of its own (shardKeys).
export type SaleKeys = ReturnType<typeof saleKeys>;
export type ShardKeys = ReturnType<typeof shardKeys>;

export function saleKeys(prefix: string, saleId: number) {
  const tag = `${prefix}:{sale:${saleId}}`;
  return {
    sale: `${tag}:sale`,
    held: `${tag}:held`,
    inflight: `${tag}:inflight`,
    // Held by the process loading the sale back from PostgreSQL (src/recovery/sale-loader.ts).
    loadLock: `${tag}:load-lock`,
    reservation: (orderId: string) => `${tag}:res:${orderId}`,
    // Length-prefixed so that buyer "a:b" with key "c" never meets buyer "a" with key "b:c".
    idempotency: (buyer: string, key: string) => `${tag}:idem:${buyer.length}:${buyer}:${key}`,
    rateBucket: (buyer: string) => `${tag}:rate:${buyer}`,
  };
}

export function salesIndexKey(prefix: string): string {
  return `${prefix}:sales`;
}

// Pub/sub channel on which the scripts announce a sale selling out or reopening, so every
// API process can keep a local sold-out flag. Prefixed so deployments sharing a Redis stay apart.
export function saleEventsChannel(prefix: string): string {
  return `${prefix}:sale-events`;
}

const shardTags = new Map<string, string>();

// Shard i of n of a sale: its tag is chosen so that shard i lands in the i-th n-th of the slot
// space, so a sale's shards spread over a cluster's masters (spreadTag). Derived once per
// process and remembered: it is a pure function of the sale, the shard and the count.
export function shardKeys(prefix: string, saleId: number, shard: number, shards: number) {
  const id = `${saleId}:${shard}:${shards}`;
  let tag = shardTags.get(id);
  if (tag === undefined) {
    tag = spreadTag((k) => `sale:${saleId}:shard:${shard}-${k}`, shard, shards);
    shardTags.set(id, tag);
  }
  const base = `${prefix}:{${tag}}`;
  return { units: `${base}:units`, ledger: `${base}:ledger` };
}

// Shard i's share of the stock: an even split, the first `stock % shards` shards one more.
export function shardStock(stock: number, shard: number, shards: number): number {
  return Math.floor(stock / shards) + (shard < stock % shards ? 1 : 0);
}
