import { randomInt } from 'node:crypto';
import type { Database } from '../db/client.js';
import { saveDraw } from '../db/rooms-repository.js';
import { roomKeys } from '../gate/keys.js';
import { orderedRegion, regionSize } from './partitions.js';
import type { RoomTarget } from './scripts.js';

// A uniformly random order of `places` (Fisher-Yates with a cryptographic source: every
// ordering equally likely).
function shuffle(places: Uint32Array): void {
  for (let i = places.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    const swap = places[i]!;
    places[i] = places[j]!;
    places[j] = swap;
  }
}

// The line's ordered region as rank -> place, uint32 little-endian: the prequeue (each
// partition's places up to its frozen size) in a uniformly random order, then the places
// numbered after the start below the region's end, in number order (./partitions.ts). One
// partition of size n: a uniform order of 1..n.
export function drawOrder(sizes: number | readonly number[]): Buffer {
  const { prequeue, after } = orderedRegion(typeof sizes === 'number' ? [sizes] : sizes);
  const order = new Uint32Array(prequeue.length + after.length);
  order.set(prequeue);
  shuffle(order.subarray(0, prequeue.length));
  order.set(after, prequeue.length);
  return Buffer.from(order.buffer, order.byteOffset, order.byteLength);
}

export function orderOf(bytes: Buffer): Uint32Array {
  const order = new Uint32Array(bytes.length >> 2);
  for (let i = 0; i < order.length; i++) order[i] = bytes.readUInt32LE(i * 4);
  return order;
}

// The line's order, drawn once: PostgreSQL keeps the first draw written (a second admitter's
// draw loses), and Redis gets that one. Returns the order in force.
export async function drawOnce(
  db: Database,
  target: RoomTarget,
  saleId: number,
  sizes: number | readonly number[],
): Promise<Uint32Array> {
  const key = roomKeys(target.prefix, saleId).order;
  const size = regionSize(typeof sizes === 'number' ? [sizes] : sizes);
  const held = await target.redis.getBuffer(key);
  if (held !== null && held.length === size * 4) return orderOf(held);
  const saved = await saveDraw(db, saleId, size, drawOrder(sizes));
  await target.redis.set(key, saved.order, 'NX');
  return orderOf(saved.order);
}
