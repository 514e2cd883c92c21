import { bitAt, type OutflowReason, type RoomStatus, type ViewDoc } from './view-doc.js';

// The line in rank order, as the admitter holding the lease sees it: the drawn order (rank ->
// place for the prequeue) and the places given up.
export type Line = {
  top: number;
  n: number | null;
  order: Uint32Array | null;
  gone: Buffer | null;
};

export function placeAtRank(line: Line, rank: number): number {
  if (line.n !== null && rank <= line.n && line.order) return line.order[rank - 1] ?? rank;
  return rank;
}

// Moves the cursor over the front of the line: places given up are passed over, live ones
// admitted while the budget lasts. Stops at the first live place it cannot admit.
export function walk(
  line: Line,
  cursor: number,
  budget: number,
): { cursor: number; admitted: number } {
  let admitted = 0;
  let rank = cursor + 1;
  for (; rank <= line.top; rank++) {
    if (bitAt(line.gone, placeAtRank(line, rank))) continue;
    if (admitted >= budget) break;
    admitted++;
  }
  return { cursor: rank - 1, admitted };
}

// Live places behind the cursor, and the view's blocks of places given up by rank.
export function lineCounts(
  line: Line,
  cursor: number,
): { waiting: number; block: number; goneBelow: number[] } {
  const block = Math.max(1, Math.ceil(line.top / 8192));
  const goneBelow = [0];
  let gone = 0;
  let waiting = 0;
  for (let rank = 1; rank <= line.top; rank++) {
    const isGone = bitAt(line.gone, placeAtRank(line, rank));
    if (isGone) gone++;
    else if (rank > cursor) waiting++;
    if (rank % block === 0) goneBelow.push(gone);
  }
  if (line.top % block !== 0) goneBelow.push(gone);
  return { waiting, block, goneBelow };
}

export type Outflow = { rate: number; limit: number; reason: OutflowReason };

// How many to admit this tick: the rate's allowance, under the overbook bound (unused,
// unexpired passes at most remaining x overbook).
export function budgetOf(
  allowance: number,
  remaining: number,
  overbook: number,
  outstanding: number,
  rateReason: OutflowReason,
): { budget: number; reason: OutflowReason } {
  if (remaining <= 0) return { budget: 0, reason: 'sold_out' };
  const room = Math.max(0, Math.floor(remaining * overbook) - outstanding);
  const allowed = Math.floor(allowance);
  return room < allowed
    ? { budget: room, reason: 'overbook' }
    : { budget: allowed, reason: rateReason };
}

export function viewDoc(fields: {
  inc: string;
  nowMs: number;
  status: RoomStatus;
  line: Line;
  drawn: boolean;
  cursor: number;
  admitted: number;
  batches: [number, number][];
  outflow: Outflow;
  gv: number;
}): ViewDoc {
  const counts = lineCounts(fields.line, fields.cursor);
  return {
    inc: fields.inc,
    at: fields.nowMs,
    status: fields.status,
    n: fields.line.n,
    drawn: fields.drawn,
    cursor: fields.cursor,
    top: fields.line.top,
    admitted: fields.admitted,
    waiting: counts.waiting,
    block: counts.block,
    goneBelow: counts.goneBelow,
    batches: fields.batches,
    rate: fields.outflow.rate,
    limit: fields.outflow.limit,
    reason: fields.outflow.reason,
    gv: fields.gv,
  };
}
