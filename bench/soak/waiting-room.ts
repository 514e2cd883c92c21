import type { Client } from '../../test/support/system.js';

// HOOK, issue #26 item 4: waiting rooms do not exist yet. Once they do, set `enabled`, open
// every `everyNth` sale with a room (`waitingRoom` on POST /admin/sales, API.md) and let
// `enter` take the buyer through POST /sales/:id/queue until admitted, returning the pass to
// send with the purchase. Until then no sale has a room and a buyer goes straight to buy.
export const waitingRooms = { enabled: false, everyNth: 3 };

export function roomFor(saleNumber: number): Record<string, unknown> {
  if (!waitingRooms.enabled || saleNumber % waitingRooms.everyNth !== 0) return {};
  return { waitingRoom: { passSeconds: 60, idleSeconds: 30 } };
}

// The headers a purchase carries after the room admitted the buyer (none without a room).
export async function enter(
  _api: Client,
  _saleId: number,
  _buyer: string,
): Promise<Record<string, string>> {
  return {};
}
