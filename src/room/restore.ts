import { randomBytes } from 'node:crypto';
import { SingleFlight } from '../concurrency/single-flight.js';
import type { Database } from '../db/client.js';
import { findRoom } from '../db/rooms-repository.js';
import { findSale } from '../db/sales-repository.js';
import { roomKeys, roomPartKeys } from '../gate/keys.js';
import { localsUpTo, partBitmap } from './partitions.js';
import { restoreScript, type RoomTarget } from './scripts.js';

// Places handed out after the admitter last wrote `joined` to PostgreSQL are unknown after a
// loss: numbering starts again this far above it, so no new place takes a lost one's number.
// A buyer holding a lost place gets it back from their ticket (lua/room-seen-4.lua).
export const restoreGap = 10_000;

// Creates the room's state in Redis from its row: at the sale's creation (an empty row) or
// once Redis forgot it. Idempotent: a state that exists is left alone. A sale over shards has
// its room's state and each partition's (./partitions.ts), each restored when missing: one
// master of a cluster may forget its part while the others keep theirs.
export async function restoreRoom(
  db: Database,
  target: RoomTarget,
  saleId: number,
  nowMs: number,
): Promise<boolean> {
  const [row, sale] = await Promise.all([findRoom(db, saleId), findSale(db, saleId)]);
  if (!row) return false;
  const parts = sale?.shards ?? 1;
  const fresh = row.joined === 0 && row.admittedTo === 0 && row.drawnSize === null;
  const batches = row.batches.filter(([, expiresAt]) => expiresAt > nowMs);
  const room = {
    drawnSize: row.drawnSize,
    cursor: row.admittedTo,
    admitted: row.admitted,
    nowMs,
    order: row.drawnOrder,
    batches,
  };
  if (parts <= 1) {
    const top = fresh ? 0 : row.joined + restoreGap;
    return restoreScript(target, roomKeys(target.prefix, saleId), {
      ...room,
      incarnation: randomBytes(8).toString('hex'),
      top,
      gone: fresh ? null : markLost(row.gone, row.joined, top),
      lostFrom: fresh ? null : row.joined,
    });
  }
  // The room's own state keeps the line's bitmap composed by the admitter, for the views.
  const created = await restoreScript(target, roomKeys(target.prefix, saleId), {
    ...room,
    incarnation: randomBytes(8).toString('hex'),
    top: 0,
    gone: row.gone,
    lostFrom: null,
  });
  for (let part = 0; part < parts; part++) {
    const k = roomPartKeys(target.prefix, saleId, part, parts);
    const from = localsUpTo(part, row.joined, parts);
    const top = fresh ? 0 : from + restoreGap;
    await restoreScript(
      target,
      { state: k.state, gone: k.gone, batches: k.spare, order: k.spare },
      {
        incarnation: randomBytes(8).toString('hex'),
        top,
        // Only marks the partition's prequeue frozen: the drawn order is the room's.
        drawnSize: row.drawnSize === null ? null : localsUpTo(part, row.drawnSize, parts),
        cursor: 0,
        admitted: 0,
        nowMs,
        gone: fresh ? null : markLost(partBitmap(row.gone, part, parts), from, top),
        order: null,
        batches: [],
        lostFrom: fresh ? null : from,
      },
    );
  }
  return created;
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

// restoreRoom, one at a time per room in this process: after Redis forgot a line, every join
// of a batch and the next flush meet its state missing at once, and each restore reads the
// room's row (its drawn order, 4 bytes a place) from PostgreSQL. Idempotent, so a restore
// started elsewhere meanwhile does no harm.
export function roomRestorer(db: Database, target: RoomTarget) {
  const running = new SingleFlight<number, boolean>();
  return (saleId: number, nowMs: number): Promise<boolean> =>
    running.run(saleId, () => restoreRoom(db, target, saleId, nowMs));
}
