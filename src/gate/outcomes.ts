// Return codes of lua/*.lua, mapped to typed outcomes in one place.
export type ReservationState = 'pending' | 'committing' | 'confirmed' | 'released';

const stateByLetter: Record<string, ReservationState> = {
  P: 'pending',
  C: 'committing',
  F: 'confirmed',
  R: 'released',
};

export function reservationState(letter: string | null | undefined): ReservationState | null {
  return letter ? (stateByLetter[letter] ?? null) : null;
}

export type ReserveOutcome =
  // Over shards: `shard` holds the unit, of `shards`; remaining is that shard's after the
  // unit was taken at the buyer's home, or -1 when the home had none (a unit is still to take).
  | { kind: 'reserved'; remaining: number; reservedAtMs: number; shard?: number; shards?: number }
  | { kind: 'sold_out' }
  | { kind: 'limit_reached' }
  | { kind: 'not_found' }
  | { kind: 'not_started' }
  | { kind: 'ended' }
  | { kind: 'rate_limited'; retryAfterMs: number }
  | { kind: 'replayed'; orderId: string; state: ReservationState }
  | { kind: 'quantity_over_limit' }
  | { kind: 'loading' };

export function toReserveOutcome(reply: unknown): ReserveOutcome {
  const [code, detail, extra, shard, shards, takenAtHome] = reply as [
    number,
    string | number,
    string | undefined,
    number | undefined,
    number | undefined,
    number | undefined,
  ];
  switch (code) {
    case 0:
      return shard === undefined
        ? { kind: 'reserved', remaining: Number(detail), reservedAtMs: Number(extra) }
        : {
            kind: 'reserved',
            remaining: takenAtHome === 1 ? Math.max(0, Number(detail)) : -1,
            reservedAtMs: Number(extra),
            shard: Number(shard),
            shards: Number(shards),
          };
    case 1:
      return { kind: 'sold_out' };
    case 2:
      return { kind: 'limit_reached' };
    case 3:
      return { kind: 'not_found' };
    case 4:
      return { kind: 'not_started' };
    case 5:
      return { kind: 'ended' };
    case 6:
      return { kind: 'rate_limited', retryAfterMs: Number(detail) };
    case 7:
      return {
        kind: 'replayed',
        orderId: String(detail),
        state: reservationState(extra) ?? 'released',
      };
    case 8:
      return { kind: 'quantity_over_limit' };
    case 9:
      return { kind: 'loading' };
    default:
      throw new Error(`reserve script answered unknown code ${String(code)}`);
  }
}

export type ClaimOutcome = 'go' | 'gone' | 'confirmed' | 'unknown';
export const claimOutcomes: Record<number, ClaimOutcome> = {
  1: 'go',
  0: 'gone',
  2: 'confirmed',
  [-1]: 'unknown',
};

export type ConfirmOutcome = 'confirmed' | 'already_confirmed' | 'released' | 'unknown';
export const confirmOutcomes: Record<number, ConfirmOutcome> = {
  1: 'confirmed',
  0: 'already_confirmed',
  [-2]: 'released',
  [-1]: 'unknown',
};

export type RestoreMode = 'confirmed' | 'failed' | 'claim';
export type RestoreOutcome = 'restored' | 'refused' | 'exists' | 'sale_missing' | 'loading';
export const restoreOutcomes: Record<number, RestoreOutcome> = {
  1: 'restored',
  0: 'refused',
  2: 'exists',
  [-3]: 'sale_missing',
  [-4]: 'loading',
};

export type ReleaseOutcome =
  // `shard`: the sale is over shards and that one holds the unit (the Gate gives it back).
  | { kind: 'released'; remaining: number; shard?: number }
  | { kind: 'already_released' }
  | { kind: 'in_progress' }
  | { kind: 'confirmed' }
  | { kind: 'unknown' };

export function toReleaseOutcome(reply: unknown): ReleaseOutcome {
  const [code, remaining, shard] = reply as [number, number, string | null | undefined];
  switch (code) {
    case 1:
      return shard === null || shard === undefined
        ? { kind: 'released', remaining }
        : { kind: 'released', remaining, shard: Number(shard) };
    case 0:
      return { kind: 'already_released' };
    case 2:
      return { kind: 'in_progress' };
    case 3:
      return { kind: 'confirmed' };
    case -1:
      return { kind: 'unknown' };
    default:
      throw new Error(`release script answered unknown code ${String(code)}`);
  }
}

export type ReturnOutcome =
  | { kind: 'returned'; remaining: number; shard?: number }
  | { kind: 'already_returned' }
  | { kind: 'absent' }
  | { kind: 'pending' };

export function toReturnOutcome(reply: unknown): ReturnOutcome {
  const [code, remaining, shard] = reply as [number, number, string | null | undefined];
  switch (code) {
    case 1:
      return shard === null || shard === undefined
        ? { kind: 'returned', remaining }
        : { kind: 'returned', remaining, shard: Number(shard) };
    case 0:
      return { kind: 'already_returned' };
    case 2:
      return { kind: 'absent' };
    case -2:
      return { kind: 'pending' };
    default:
      throw new Error(`return script answered unknown code ${String(code)}`);
  }
}
