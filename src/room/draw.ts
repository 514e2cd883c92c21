import { randomInt } from 'node:crypto';
import type { Database } from '../db/client.js';
import { saveDraw } from '../db/rooms-repository.js';
import { roomKeys } from '../gate/keys.js';
import type { RoomTarget } from './scripts.js';

// A uniformly random order of the places 1..n (Fisher-Yates with a cryptographic source:
// every ordering equally likely), as rank -> place, uint32 little-endian.
export function drawOrder(n: number): Buffer {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i + 1;
  for (let i = n - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    const swap = order[i]!;
    order[i] = order[j]!;
    order[j] = swap;
  }
  return Buffer.from(order.buffer, order.byteOffset, order.byteLength);
}

export function orderOf(bytes: Buffer): Uint32Array {
  const order = new Uint32Array(bytes.length >> 2);
  for (let i = 0; i < order.length; i++) order[i] = bytes.readUInt32LE(i * 4);
  return order;
}

// The prequeue's order, drawn once: PostgreSQL keeps the first draw written (a second
// admitter's draw loses), and Redis gets that one. Returns the order in force.
export async function drawOnce(
  db: Database,
  target: RoomTarget,
  saleId: number,
  n: number,
): Promise<Uint32Array> {
  const key = roomKeys(target.prefix, saleId).order;
  const held = await target.redis.getBuffer(key);
  if (held !== null && held.length === n * 4) return orderOf(held);
  const saved = await saveDraw(db, saleId, n, drawOrder(n));
  await target.redis.set(key, saved.order, 'NX');
  return orderOf(saved.order);
}
