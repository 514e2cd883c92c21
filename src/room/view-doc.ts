// What the admitter publishes for every API process (lua/room-advance-6.lua writes it; each
// process reads it once per ROOM_VIEW_MS): all a poll needs besides the buyer's own ticket.
export type RoomStatus = 'open' | 'held' | 'closed';

// What moved the outflow's limit last: a fixed admitPerSecond, ROOM_ADMIT_PER_SECOND, the API
// processes' adaptive admission, the overbook bound, the sale having nothing left, or paused.
export type OutflowReason = 'fixed' | 'default' | 'adaptive' | 'overbook' | 'sold_out' | 'paused';

export type ViewDoc = {
  // The state's incarnation: a new one means Redis forgot the line and it was rebuilt.
  inc: string;
  at: number;
  // held: sold out, but units held in orders may come back; closed: nothing can.
  status: RoomStatus;
  // The prequeue's size once frozen, and whether its order has been drawn.
  n: number | null;
  drawn: boolean;
  cursor: number;
  top: number;
  admitted: number;
  waiting: number;
  // goneBelow[i]: places given up among ranks 1..i*block (exact when block is 1).
  block: number;
  goneBelow: number[];
  // Unexpired admission batches, ascending: [admitted to rank, pass expiry ms].
  batches: [number, number][];
  // Admitted per second, measured; the outflow's limit and what moved it.
  rate: number;
  limit: number;
  reason: OutflowReason;
  // The places-given-up bitmap's version: a process reads the bitmap again when it moves.
  gv: number;
};

// Places given up among ranks 1..rank, from the view's blocks.
export function goneUpTo(doc: ViewDoc, rank: number): number {
  if (rank <= 0 || doc.goneBelow.length === 0) return 0;
  const index = Math.min(Math.floor(rank / doc.block), doc.goneBelow.length - 1);
  return doc.goneBelow[index] ?? 0;
}

// Bit `offset` of a Redis bitmap (SETBIT numbers bits from the most significant of byte 0).
export function bitAt(bitmap: Buffer | null, offset: number): boolean {
  if (!bitmap) return false;
  const byte = bitmap[offset >> 3];
  return byte !== undefined && (byte & (0x80 >> (offset & 7))) !== 0;
}
