import type { Sale, WaitingRoom } from '../db/schema.js';

// A sale's room as the sale object shows it, with the line's live counts.
export type RoomCounts = { room: WaitingRoom; waiting: number; admitted: number };

export function roomView(counts: RoomCounts | null | undefined) {
  if (!counts) return null;
  const { room } = counts;
  return {
    opensAt: room.opensAt.toISOString(),
    passSeconds: room.passSeconds,
    idleSeconds: room.idleSeconds,
    admitPerSecond: room.admitPerSecond,
    waiting: counts.waiting,
    admitted: counts.admitted,
  };
}

export function saleView(sale: Sale, remaining: number, room?: RoomCounts | null) {
  return {
    id: sale.id,
    sku: sale.sku,
    name: sale.name,
    stock: sale.stock,
    remaining,
    soldOut: remaining <= 0,
    perUserLimit: sale.perUserLimit,
    startsAt: sale.startsAt.toISOString(),
    endsAt: sale.endsAt?.toISOString() ?? null,
    shards: sale.shards,
    paymentWindowSeconds: sale.paymentWindowSeconds,
    proofOfWork: sale.proofOfWork,
    waitingRoom: roomView(room),
    paused: sale.paused,
  };
}
