import { bitAt, goneUpTo, type ViewDoc } from './view-doc.js';

// A place as the contract answers it (API.md, "Waiting room"), before its tokens are signed.
export type PlaceAnswer = {
  state: 'prequeue' | 'waiting' | 'admitted' | 'closed';
  position: number | null;
  ahead: number | null;
  etaSeconds: number | null;
  reason?: 'SOLD_OUT' | 'SALE_ENDED' | 'PASS_EXPIRED';
  // Admitted: the pass's rank and expiry (its batch).
  pass?: { rank: number; expiresAtMs: number };
};

export type PlaceInputs = {
  doc: ViewDoc | null;
  // Places given up, by place number, as this process last read them.
  gone: Buffer | null;
  // Drawn prequeue: place - 1 -> rank, once drawn.
  rankOf: Uint32Array | null;
  startsAtMs: number;
  endsAtMs: number | null;
  nowMs: number;
};

// The rank a place holds once the line is ordered, or null while it is in the prequeue.
export function rankOfPlace(inputs: PlaceInputs, place: number): number | null {
  const { doc } = inputs;
  if (!doc || inputs.nowMs < inputs.startsAtMs) return null;
  if (doc.n === null) return null;
  if (place > doc.n) return place;
  if (!doc.drawn || !inputs.rankOf) return null;
  return inputs.rankOf[place - 1] ?? null;
}

const closed = (reason: PlaceAnswer['reason']): PlaceAnswer => ({
  state: 'closed',
  position: null,
  ahead: null,
  etaSeconds: null,
  reason,
});

// The place's answer from this process's memory: no Redis. 'gone' when the place was given up.
export function placeOf(inputs: PlaceInputs, place: number): PlaceAnswer | 'gone' {
  if (bitAt(inputs.gone, place)) return 'gone';
  if (inputs.endsAtMs !== null && inputs.nowMs >= inputs.endsAtMs) return closed('SALE_ENDED');
  const { doc } = inputs;
  if (doc?.status === 'closed') return closed('SOLD_OUT');
  const rank = rankOfPlace(inputs, place);
  if (rank === null || !doc) {
    return { state: 'prequeue', position: null, ahead: null, etaSeconds: null };
  }
  const soldOut = doc.status === 'held' ? { reason: 'SOLD_OUT' as const } : {};
  if (rank <= doc.cursor) {
    const batch = doc.batches.find(([to]) => to >= rank);
    if (!batch || batch[1] <= inputs.nowMs) return closed('PASS_EXPIRED');
    return {
      state: 'admitted',
      position: null,
      ahead: 0,
      etaSeconds: 0,
      ...soldOut,
      pass: { rank, expiresAtMs: batch[1] },
    };
  }
  const ahead = Math.max(
    0,
    rank - doc.cursor - 1 - (goneUpTo(doc, rank - 1) - goneUpTo(doc, doc.cursor)),
  );
  const etaSeconds = doc.rate > 0 ? Math.ceil((ahead + 1) / doc.rate) : null;
  return { state: 'waiting', position: ahead + 1, ahead, etaSeconds, ...soldOut };
}
