import type { Client } from '../../test/support/system.js';

// Issue #26 item 4: every `everyNth` sale of the soak has a waiting room (`waitingRoom` on
// POST /admin/sales, API.md), and its buyers go through the line (`enter`) before they buy.
export const waitingRooms = { enabled: true, everyNth: 3 };

export function roomFor(saleNumber: number): Record<string, unknown> {
  if (!waitingRooms.enabled || saleNumber % waitingRooms.everyNth !== 0) return {};
  return { waitingRoom: { passSeconds: 60, idleSeconds: 30 } };
}

// Longest a soak buyer stays in line: a line that stops moving shows as buyers who give up
// (their purchase then answers 403 NOT_ADMITTED), not as a soak that hangs.
const patienceMs = 120_000;
// Which sales have no room, learnt from their first join's 409 NO_WAITING_ROOM: their buyers
// then go straight to buy, without a join each.
const withoutRoom = new Set<number>();

type Place = { state: string; ticket: string; pass?: string; pollAfterMs: number };

// The headers a purchase carries after the room admitted the buyer: join, poll (at the pace
// the room asks, with the ticket) until admitted, and send the pass. None for a sale without a
// room, and none when the line says the sale is over (the purchase then hears it from the sale:
// 409 SOLD_OUT or 403 SALE_ENDED).
export async function enter(
  api: Client,
  saleId: number,
  buyer: string,
): Promise<Record<string, string>> {
  if (!waitingRooms.enabled || withoutRoom.has(saleId)) return {};
  const headers = api.buyerHeaders(buyer);
  const joined = await api.raw('POST', `/sales/${saleId}/queue`, headers);
  if (joined.status === 409 && joined.body?.error?.code === 'NO_WAITING_ROOM') {
    withoutRoom.add(saleId);
    return {};
  }
  if (joined.status !== 200) return {};
  let place = joined.body as Place;
  const giveUpAt = Date.now() + patienceMs;
  while (place.state === 'prequeue' || place.state === 'waiting') {
    if (Date.now() > giveUpAt) {
      await api.raw('DELETE', `/sales/${saleId}/queue`, headers);
      return {};
    }
    await new Promise((resolve) => setTimeout(resolve, place.pollAfterMs));
    const polled = await api.raw('GET', `/sales/${saleId}/queue`, {
      ...headers,
      'x-queue-ticket': place.ticket,
    });
    if (polled.status !== 200) return {};
    place = polled.body as Place;
  }
  return place.state === 'admitted' && place.pass ? { 'x-queue-pass': place.pass } : {};
}
