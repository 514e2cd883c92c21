import type { ApiDeps } from './deps.js';
import { ApiError } from './api-error.js';
import type { Sale } from '../db/schema.js';
import { findRoom } from '../db/rooms-repository.js';
import type { RoomCounts } from './sale-view.js';
import type { Pass } from '../room/tokens.js';

const notAdmitted = new ApiError(
  403,
  'NOT_ADMITTED',
  'this sale is bought through its waiting room: send the pass of your admission in X-Queue-Pass',
);

// The pass a purchase of a sale with a room must carry: this buyer's, this sale's, unexpired.
// Checked by its signature alone, in memory (API.md: without a round trip to Redis).
export function requirePass(
  deps: ApiDeps,
  saleId: number,
  buyer: string,
  header: string | undefined,
): Pass {
  const pass = deps.rooms.passOf(saleId, buyer, header);
  if (!pass) throw notAdmitted;
  return pass;
}

// The room of a sale with one, with the line's counts as this process last read them.
export async function roomCounts(deps: ApiDeps, sale: Sale): Promise<RoomCounts | null> {
  if (!sale.waitingRoom) return null;
  const room = await findRoom(deps.db, sale.id);
  if (!room) return null;
  const { doc } = await deps.rooms.views.snapshot(sale.id, Date.now());
  return { room, waiting: doc?.waiting ?? 0, admitted: doc?.admitted ?? room.admitted };
}
