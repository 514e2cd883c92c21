import { LRUCache } from 'lru-cache';
import { homeOfBuyer, roomPartKeys, type RoomPartKeys } from '../gate/keys.js';

// A sale over P shards splits its line into P partitions (docs/waiting-room.md, "Sharded
// sales"): a buyer's partition is their home shard, and each partition numbers its own places
// 1, 2, 3... (local numbers). Place numbers across the line interleave them by round: local l
// of partition p is place (l - 1) x P + p + 1. With P = 1 a place is its local number.
export type Part = { part: number; local: number };

export function partOfBuyer(buyer: string, parts: number): number {
  return parts > 1 ? homeOfBuyer(buyer, parts) : 0;
}

// Each partition's keys (roomPartKeys), built once per process: a join storm asks for the same
// few thousands of times a second, and each build made a dozen strings. A process that runs
// for months sees sale after sale: the partitions used least lately make room (a few hundred
// bytes each), and one asked for again is built again.
const partKeysKept = 4_096;

export function partKeysOf(prefix: string) {
  const built = new LRUCache<string, RoomPartKeys>({ max: partKeysKept });
  return (saleId: number, part: number, parts: number): RoomPartKeys => {
    const id = `${saleId}:${part}:${parts}`;
    let keys = built.get(id);
    if (!keys) {
      keys = roomPartKeys(prefix, saleId, part, parts);
      built.set(id, keys);
    }
    return keys;
  };
}

export function placeOf(part: number, local: number, parts: number): number {
  return (local - 1) * parts + part + 1;
}

export function partOfPlace(place: number, parts: number): Part {
  return { part: (place - 1) % parts, local: Math.floor((place - 1) / parts) + 1 };
}

// How many of partition `part`'s places are numbered up to `place`.
export function localsUpTo(part: number, place: number, parts: number): number {
  return place >= part + 1 ? Math.floor((place - part - 1) / parts) + 1 : 0;
}

// The highest place number below which every partition has handed out every place, given
// each partition's counter (its highest local handed out): a place numbered at or below it
// is never handed out again, so the admitter walks no further.
export function frontierOf(seqs: readonly number[]): number {
  const parts = seqs.length;
  return Math.min(...seqs.map((seq, part) => seq * parts + part));
}

// The highest place number handed out.
export function topOf(seqs: readonly number[]): number {
  const parts = seqs.length;
  return Math.max(0, ...seqs.map((seq, part) => (seq > 0 ? placeOf(part, seq, parts) : 0)));
}

// The size of the ordered region: P x the largest partition's prequeue.
export function regionSize(sizes: readonly number[]): number {
  return sizes.length * Math.max(0, ...sizes);
}

// The places drawn at the start and those ranked after them in order, given each partition's
// frozen prequeue size: the prequeue is every place numbered up to its partition's size, and
// the ordered region ends at P x the largest size. Beyond it a place's rank is its number.
export function orderedRegion(sizes: readonly number[]): {
  size: number;
  prequeue: number[];
  after: number[];
} {
  const parts = sizes.length;
  const size = regionSize(sizes);
  const prequeue: number[] = [];
  const after: number[] = [];
  for (let place = 1; place <= size; place++) {
    const { part, local } = partOfPlace(place, parts);
    (local <= (sizes[part] ?? 0) ? prequeue : after).push(place);
  }
  return { size, prequeue, after };
}

// The bitmap by place number of the line, from each partition's bitmap by local number
// (Redis bit order: the most significant bit of byte 0 is bit 0).
export function composeBitmaps(bitmaps: readonly (Buffer | null)[], top: number): Buffer {
  const parts = bitmaps.length;
  const out = Buffer.alloc((top >> 3) + 1);
  bitmaps.forEach((bitmap, part) => {
    if (!bitmap) return;
    const bits = bitmap.length * 8;
    for (let local = 1; local < bits; local++) {
      if ((bitmap[local >> 3]! & (0x80 >> (local & 7))) === 0) continue;
      const place = placeOf(part, local, parts);
      if (place > top) break;
      out[place >> 3] = out[place >> 3]! | (0x80 >> (place & 7));
    }
  });
  return out;
}

// Partition `part`'s bitmap by local number, out of the line's bitmap by place number.
export function partBitmap(bitmap: Buffer | null, part: number, parts: number): Buffer | null {
  if (!bitmap || parts <= 1) return bitmap;
  const out = Buffer.alloc(((bitmap.length * 8) / parts + 8) >> 3);
  for (let place = part + 1; place < bitmap.length * 8; place += parts) {
    if ((bitmap[place >> 3]! & (0x80 >> (place & 7))) === 0) continue;
    const local = partOfPlace(place, parts).local;
    out[local >> 3] = out[local >> 3]! | (0x80 >> (local & 7));
  }
  return out;
}
