import { codeName, type CodeName } from './codes.js';
import { int, list, listOf, optionalInt, text } from './reply.js';

// Every script's reply turned into its typed outcome, in one place beside the code table
// (./codes.ts), as BullMQ's classes/finished-errors.ts beside its enums/error-code.ts.
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

function unexpected(script: string, code: CodeName): Error {
  return new Error(`${script} answered ${code}, which it does not return`);
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
  | { kind: 'loading' }
  | { kind: 'paused' };

// The outcome of each code a script answers; any other code is a bug in that script.
function outcomeFor<T>(script: string, name: CodeName, outcomes: Partial<Record<CodeName, T>>): T {
  const outcome = outcomes[name];
  if (outcome === undefined) throw unexpected(script, name);
  return outcome;
}

function outcomeOf<T>(script: string, code: unknown, outcomes: Partial<Record<CodeName, T>>): T {
  return outcomeFor(script, codeName(code, script), outcomes);
}

// As outcomeOf, for outcomes that read the rest of the reply.
function decode<T>(script: string, code: unknown, decoders: Partial<Record<CodeName, () => T>>) {
  return outcomeOf(script, code, decoders)();
}

export function toReserveOutcome(reply: unknown): ReserveOutcome {
  const script = 'reserve-7';
  const [code, detail, extra, shard, shards, takenAtHome] = list(reply, script);
  return decode<ReserveOutcome>(script, code, {
    OK: () => {
      const reservedAtMs = int(extra, script);
      const remaining = int(detail, script);
      const at = optionalInt(shard, script);
      if (at === undefined) return { kind: 'reserved', remaining, reservedAtMs };
      return {
        kind: 'reserved',
        remaining: optionalInt(takenAtHome, script) === 1 ? Math.max(0, remaining) : -1,
        reservedAtMs,
        shard: at,
        shards: int(shards, script),
      };
    },
    SOLD_OUT: () => ({ kind: 'sold_out' }),
    LIMIT_REACHED: () => ({ kind: 'limit_reached' }),
    MISSING: () => ({ kind: 'not_found' }),
    NOT_STARTED: () => ({ kind: 'not_started' }),
    ENDED: () => ({ kind: 'ended' }),
    RATE_LIMITED: () => ({ kind: 'rate_limited', retryAfterMs: int(detail, script) }),
    REPLAYED: () => ({
      kind: 'replayed',
      orderId: text(detail, script),
      state: reservationState(text(extra, script)) ?? 'released',
    }),
    QUANTITY_OVER_LIMIT: () => ({ kind: 'quantity_over_limit' }),
    LOADING: () => ({ kind: 'loading' }),
    PAUSED: () => ({ kind: 'paused' }),
  });
}

// One hash of a sale changed by an admin (lua/change-sale-1.lua): `remaining` is its units
// after (-1 for a hash without units); `in_use` carries the units it could give back.
export type ChangeOutcome =
  | { kind: 'changed'; remaining: number }
  | { kind: 'in_use'; available: number }
  | { kind: 'loading' }
  | { kind: 'missing' };

export function toChangeOutcome(reply: unknown): ChangeOutcome {
  const script = 'change-sale-1';
  const [code, units] = list(reply, script);
  return decode<ChangeOutcome>(script, code, {
    OK: () => ({ kind: 'changed', remaining: int(units, script) }),
    STOCK_IN_USE: () => ({ kind: 'in_use', available: int(units, script) }),
    LOADING: () => ({ kind: 'loading' }),
    MISSING: () => ({ kind: 'missing' }),
  });
}

// One code per order of a batch script, in the order asked.
function batchOutcomes<T>(
  reply: unknown,
  script: string,
  count: number,
  outcomes: Partial<Record<CodeName, T>>,
): T[] {
  return listOf(reply, script, count).map((code) => outcomeOf(script, code, outcomes));
}

export type ClaimOutcome = 'go' | 'gone' | 'confirmed' | 'unknown';

// A claim repeated after a crash finds its reservation committing: the job goes on.
export function toClaimOutcomes(reply: unknown, count: number): ClaimOutcome[] {
  return batchOutcomes<ClaimOutcome>(reply, 'claim-1', count, {
    OK: 'go',
    COMMITTING: 'go',
    RELEASED: 'gone',
    CONFIRMED: 'confirmed',
    MISSING: 'unknown',
  });
}

export type ConfirmOutcome = 'confirmed' | 'already_confirmed' | 'released' | 'unknown';

export function toConfirmOutcomes(reply: unknown, count: number): ConfirmOutcome[] {
  return batchOutcomes<ConfirmOutcome>(reply, 'confirm-1', count, {
    OK: 'confirmed',
    CONFIRMED: 'already_confirmed',
    RELEASED: 'released',
    MISSING: 'unknown',
  });
}

export type RestoreMode = 'confirmed' | 'failed' | 'claim';
export type RestoreOutcome = 'restored' | 'refused' | 'exists' | 'sale_missing' | 'loading';

export function toRestoreOutcomes(reply: unknown, count: number): RestoreOutcome[] {
  return batchOutcomes<RestoreOutcome>(reply, 'restore-3', count, {
    OK: 'restored',
    TOMBSTONE: 'refused',
    EXISTS: 'exists',
    MISSING: 'sale_missing',
    LOADING: 'loading',
  });
}

export type ReleaseOutcome =
  // `shard`: the sale is over shards and that one holds the unit (the Gate gives it back).
  | { kind: 'released'; remaining: number; shard?: number }
  | { kind: 'already_released' }
  | { kind: 'in_progress' }
  | { kind: 'confirmed' }
  | { kind: 'unknown' };

export function toReleaseOutcome(reply: unknown): ReleaseOutcome {
  const back = unitsBack(reply, 'release-4');
  if (typeof back !== 'string') return { kind: 'released', ...back };
  return outcomeFor('release-4', back, releaseRefusals);
}

const releaseRefusals: Partial<Record<CodeName, ReleaseOutcome>> = {
  RELEASED: { kind: 'already_released' },
  COMMITTING: { kind: 'in_progress' },
  CONFIRMED: { kind: 'confirmed' },
  MISSING: { kind: 'unknown' },
};

export type ReturnOutcome =
  | { kind: 'returned'; remaining: number; shard?: number }
  | { kind: 'already_returned' }
  | { kind: 'absent' }
  | { kind: 'pending' };

export function toReturnOutcome(reply: unknown): ReturnOutcome {
  const back = unitsBack(reply, 'return-4');
  if (typeof back !== 'string') return { kind: 'returned', ...back };
  return outcomeFor('return-4', back, {
    RELEASED: { kind: 'already_returned' },
    TOMBSTONE: { kind: 'absent' },
    PENDING: { kind: 'pending' },
  });
}

// A reservation's units back (lua/includes/release-reservation.lua answers OK, remaining and,
// over shards, the shard holding the unit), or the code of why not.
function unitsBack(
  reply: unknown,
  script: string,
): { remaining: number; shard?: number } | CodeName {
  const [code, remaining, shard] = list(reply, script);
  const name = codeName(code, script);
  if (name !== 'OK') return name;
  const at = optionalInt(shard, script);
  const units = int(remaining, script);
  return at === undefined ? { remaining: units } : { remaining: units, shard: at };
}

// Whether the script did what it was asked: OK, or one of the codes it answers instead.
export function toDone(reply: unknown, script: string, instead: readonly CodeName[]): boolean {
  return outcomeOf(script, list(reply, script)[0], {
    OK: true,
    ...Object.fromEntries(instead.map((name) => [name, false])),
  });
}

export type TakeOutcome = 'taken' | 'held' | 'empty' | 'missing';

export function toTakeOutcome(reply: unknown): TakeOutcome {
  return outcomeOf<TakeOutcome>('take-2', list(reply, 'take-2')[0], {
    OK: 'taken',
    HELD: 'held',
    SOLD_OUT: 'empty',
    MISSING: 'missing',
  });
}

// `givenBack` false: the ledger no longer had the order.
export type GiveBackOutcome = { givenBack: boolean; remaining: number };

export function toGiveBackOutcome(reply: unknown): GiveBackOutcome {
  const script = 'give-back-2';
  const [code, remaining] = list(reply, script);
  return decode<GiveBackOutcome>(script, code, {
    OK: () => ({ givenBack: true, remaining: int(remaining, script) }),
    NOT_HELD: () => ({ givenBack: false, remaining: 0 }),
  });
}

// A shard checked against its ledger: `drift` units set right (`loaded` false: no such shard).
export type ShardRepair = { drift: number; remaining: number; loaded: boolean };

export function toShardRepair(reply: unknown): ShardRepair {
  const script = 'repair-shard-2';
  const [code, drift, remaining] = list(reply, script);
  return decode<ShardRepair>(script, code, {
    OK: () => ({ drift: int(drift, script), remaining: int(remaining, script), loaded: true }),
    MISSING: () => ({ drift: 0, remaining: 0, loaded: false }),
  });
}
