import { randomBytes } from 'node:crypto';
import type { Database } from '../db/client.js';
import { findRoom } from '../db/rooms-repository.js';
import { restoreScript, type RoomTarget } from './scripts.js';

// Places handed out after the admitter last wrote `joined` to PostgreSQL are unknown after a
// loss: numbering starts again this far above it, so no new place takes a lost one's number.
// A buyer holding a lost place gets it back from their ticket (lua/room-seen-3.lua).
export const restoreGap = 10_000;

// Creates the room's state in Redis from its row: at the sale's creation (an empty row) or
// once Redis forgot it. Idempotent: a state that exists is left alone.
export async function restoreRoom(
  db: Database,
  target: RoomTarget,
  saleId: number,
  nowMs: number,
): Promise<boolean> {
  const row = await findRoom(db, saleId);
  if (!row) return false;
  const fresh = row.joined === 0 && row.admittedTo === 0 && row.drawnSize === null;
  const top = fresh ? 0 : row.joined + restoreGap;
  return restoreScript(target, saleId, {
    incarnation: randomBytes(8).toString('hex'),
    top,
    drawnSize: row.drawnSize,
    cursor: row.admittedTo,
    admitted: row.admitted,
    nowMs,
    gone: fresh ? null : markLost(row.gone, row.joined, top),
    order: row.drawnOrder,
    batches: row.batches.filter(([, expiresAt]) => expiresAt > nowMs),
    lostFrom: fresh ? null : row.joined,
  });
}

// The places given up, plus every place numbered after `from` up to `to`: no one holds those
// but buyers whose tickets bring them back.
function markLost(gone: Buffer | null, from: number, to: number): Buffer {
  const bitmap = Buffer.alloc((to >> 3) + 1);
  gone?.copy(bitmap, 0, 0, Math.min(gone.length, bitmap.length));
  for (let place = from + 1; place <= to; place++) {
    bitmap[place >> 3] = bitmap[place >> 3]! | (0x80 >> (place & 7));
  }
  return bitmap;
}
