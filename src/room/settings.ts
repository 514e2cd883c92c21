import type { Sale, WaitingRoom } from '../db/schema.js';

// A room's settings and its sale's, fixed at creation (endsAt and paused aside: read again
// with the room's list, src/room/admitter.ts, and by each API process, src/room/room.ts).
export type RoomSettings = {
  saleId: number;
  startsAtMs: number;
  endsAtMs: number | null;
  opensAtMs: number;
  passSeconds: number;
  idleSeconds: number;
  admitPerSecond: number | null;
  proofOfWork: boolean;
  // The kill switch as PostgreSQL holds it when the settings were read (src/room/room.ts).
  paused: boolean;
  // The sale's shard count: its line's partitions (./partitions.ts).
  shards: number;
};

export function roomSettings(sale: Sale, room: WaitingRoom): RoomSettings {
  return {
    saleId: sale.id,
    startsAtMs: sale.startsAt.getTime(),
    endsAtMs: sale.endsAt?.getTime() ?? null,
    opensAtMs: room.opensAt.getTime(),
    passSeconds: room.passSeconds,
    idleSeconds: room.idleSeconds,
    admitPerSecond: room.admitPerSecond,
    proofOfWork: sale.proofOfWork,
    paused: sale.paused,
    shards: sale.shards,
  };
}

// Idle drops are judged per epoch of half the idle period: a place seen in none of the last
// three epochs was unseen for at least idleSeconds (and at most 1.5x that) and is dropped.
export function epochOf(nowMs: number, idleSeconds: number): number {
  return Math.floor(nowMs / (idleSeconds * 500));
}

export function seenTtlSeconds(idleSeconds: number): number {
  return idleSeconds * 2 + 5;
}

// The seen bitmap a place seen at `nowMs` is marked in, and how long that bitmap lives.
export const seenAt = (nowMs: number, idleSeconds: number) => ({
  epoch: epochOf(nowMs, idleSeconds),
  ttlSeconds: seenTtlSeconds(idleSeconds),
});

// The drawn order (rank -> place, uint32 LE) inverted: place - 1 -> rank.
export function ranksOfOrder(order: Buffer): Uint32Array {
  const size = Math.floor(order.length / 4);
  const ranks = new Uint32Array(size);
  for (let rank = 1; rank <= size; rank++) ranks[order.readUInt32LE((rank - 1) * 4) - 1] = rank;
  return ranks;
}
