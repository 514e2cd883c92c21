import { hashModulo, spreadTag } from '../redis/slots.js';

// Every Redis key of the gate is built here. All keys of one sale share the hash tag
// {sale:<id>}, so each Lua script touches a single Redis Cluster slot. A sale over shards
// keeps its units in shards, each under a tag of its own (shardKeys), and each shard is also
// the home of the buyers hashed to it (homeKeys, docs/sharded-sales.md).
export type SaleKeys = ReturnType<typeof saleKeys>;
export type ShardKeys = ReturnType<typeof shardKeys>;
export type HomeKeys = ReturnType<typeof keysUnder>;

// The keys a buyer's purchase touches, under one tag: the hash the reserve script reads the
// rules and units from, the allowance, the reservations, the in-flight set, the idempotency
// keys, the rate buckets, and the ledger of the units this tag's shard gave out.
function keysUnder(tag: string, units: string) {
  return {
    sale: units,
    held: `${tag}:held`,
    inflight: `${tag}:inflight`,
    ledger: `${tag}:ledger`,
    // The batch scripts are given this prefix and build each reservation's key from it.
    reservations: `${tag}:res:`,
    reservation: (orderId: string) => `${tag}:res:${orderId}`,
    // Length-prefixed so that buyer "a:b" with key "c" never meets buyer "a" with key "b:c".
    idempotency: (buyer: string, key: string) => `${tag}:idem:${buyer.length}:${buyer}:${key}`,
    rateBucket: (buyer: string) => `${tag}:rate:${buyer}`,
  };
}

export function saleKeys(prefix: string, saleId: number) {
  const tag = `${prefix}:{sale:${saleId}}`;
  return {
    ...keysUnder(tag, `${tag}:sale`),
    // Held by the process loading the sale back from PostgreSQL (src/recovery/sale-loader.ts).
    loadLock: `${tag}:load-lock`,
  };
}

// Where an order's or a buyer's state lives: for a sale over shards, the home shard (the
// shard's units hash doubles as the home's sale hash: it holds a copy of the rules); for a
// sale without shards (or `home` null), the sale's own slot.
export function homeKeys(
  prefix: string,
  saleId: number,
  home: number | null,
  shards: number,
): HomeKeys {
  if (home === null || shards <= 1) return saleKeys(prefix, saleId);
  const shard = shardKeys(prefix, saleId, home, shards);
  return keysUnder(shard.base, shard.units);
}

// A buyer's home shard: a hash of the buyer id, so every process picks the same one.
export function homeOfBuyer(buyer: string, shards: number): number {
  return hashModulo(buyer, shards);
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
  return { base, units: `${base}:units`, ledger: `${base}:ledger` };
}

// Shard i's share of the stock: an even split, the first `stock % shards` shards one more.
export function shardStock(stock: number, shard: number, shards: number): number {
  return Math.floor(stock / shards) + (shard < stock % shards ? 1 : 0);
}

// Proof of work (src/pow/), under the sale's tag so every key of one sale's challenges stays
// in the sale's slot: the solutions already used (by challenge nonce), the challenges issued
// per second (the crowd), and the challenge limits per buyer and per client address, per
// window. Buyers are length-prefixed, as in the idempotency keys (an address is an IP or a /64).
export function proofOfWorkKeys(prefix: string, saleId: number) {
  const tag = `${prefix}:{sale:${saleId}}:pow`;
  return {
    spent: (nonce: string) => `${tag}:spent:${nonce}`,
    crowd: (second: number) => `${tag}:crowd:${second}`,
    buyerWindow: (buyer: string, window: number) =>
      `${tag}:buyer:${buyer.length}:${buyer}:${window}`,
    addressWindow: (address: string, window: number) => `${tag}:addr:${address}:${window}`,
  };
}

// A line's own keys under `tag`: its state hash, buyer -> place, and the places given up and
// seen per epoch (bitmaps by place number); a room's, or one partition's of a sharded sale.
const lineKeys = (tag: string) => ({
  state: `${tag}:state`,
  buyers: `${tag}:buyers`,
  gone: `${tag}:gone`,
  seen: (epoch: number) => `${tag}:seen:${epoch}`,
});

// The waiting room (src/room/, docs/waiting-room.md), under the sale's tag: the room's state
// hash (place counter, prequeue size, cursor, incarnation), buyer -> place number, the places
// given up and those seen per epoch (bitmaps by place number), the drawn order, the admission
// batches and their passes used, the admitter's lease, and the view every API process reads.
export function roomKeys(prefix: string, saleId: number) {
  const tag = `${prefix}:{sale:${saleId}}:room`;
  return {
    ...lineKeys(tag),
    order: `${tag}:order`,
    batches: `${tag}:batches`,
    used: `${tag}:used`,
    usedRanks: `${tag}:used-ranks`,
    lease: `${tag}:lease`,
    view: `${tag}:view`,
  };
}
export type RoomKeys = ReturnType<typeof roomKeys>;

// One partition of a room's line (docs/waiting-room.md, "Sharded sales"): its place counter
// (in a state hash of its own), buyer -> place, places given up and seen. A sale over shards
// keeps partition i under shard i's tag, so the buyers' joins and polls spread over the
// shards' masters; a sale without shards has one partition, the room's own keys. `gate`: the
// gate's hash under the same tag (the sale's, or the shard's units hash), whose `paused` the
// join script reads.
export function roomPartKeys(prefix: string, saleId: number, part: number, parts: number) {
  if (parts <= 1) {
    const { state, buyers, gone, seen } = roomKeys(prefix, saleId);
    const gate = saleKeys(prefix, saleId).sale;
    return { state, buyers, gone, seen, gate, spare: `${prefix}:{sale:${saleId}}:room:spare` };
  }
  const shard = shardKeys(prefix, saleId, part, parts);
  const tag = `${shard.base}:room`;
  return {
    ...lineKeys(tag),
    gate: shard.units,
    // Never written: fills the restore script's keys that a partition has no use for.
    spare: `${tag}:spare`,
  };
}
export type RoomPartKeys = ReturnType<typeof roomPartKeys>;

// Each API process's admission signals, read by every room's admitter (src/room/outflow.ts).
export function roomSignalsKey(prefix: string): string {
  return `${prefix}:room-signals`;
}
