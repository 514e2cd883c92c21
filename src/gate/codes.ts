// The return codes of every script in lua/, one table for all of them (as BullMQ's
// enums/error-code.ts). The scripts name them (`Code.SOLD_OUT`): the loader writes this table
// into each script (./scripts/lua-source.ts), so it is the one source. Each code means one thing
// in every script that returns it; a negative code means the script wrote nothing of the sale,
// its buyers or its orders (reserve may have spent a rate-limit token before refusing).
// ./outcomes.ts turns them into each script's typed outcome.
export const Code = {
  // Done as asked.
  OK: 0,
  // A released reservation (R) was written where Redis had none, holding no units.
  TOMBSTONE: 1,
  // The sale was loaded already: its rules written again, its units untouched.
  UPDATED: 2,

  // No such sale, shard or reservation in Redis.
  MISSING: -1,
  // The sale is being loaded back from PostgreSQL (lua/load-sale-1.lua).
  LOADING: -2,
  // Not enough units where asked (the sale, or one shard of it).
  SOLD_OUT: -3,
  // The buyer's units would pass the per-user limit.
  LIMIT_REACHED: -4,
  // The request alone asks for more than the per-user limit.
  QUANTITY_OVER_LIMIT: -5,
  NOT_STARTED: -6,
  ENDED: -7,
  // The buyer's token bucket is empty.
  RATE_LIMITED: -8,
  // The Idempotency-Key names an order already: that one is answered.
  REPLAYED: -9,
  // The reservation is released (R) already.
  RELEASED: -10,
  // The reservation is confirmed (F) already.
  CONFIRMED: -11,
  // The reservation is committing (C): a worker holds it.
  COMMITTING: -12,
  // The reservation is pending (P): no order row can be final yet.
  PENDING: -13,
  // The reservation exists already.
  EXISTS: -14,
  // A shard's ledger has the order already.
  HELD: -15,
  // A shard's ledger does not have the order.
  NOT_HELD: -16,
  // What the caller read has moved since.
  STALE: -17,
  // The lock is gone or held by another token.
  NOT_OURS: -18,
  // The sale is paused by an admin (API.md, Operating a sale: the kill switch).
  PAUSED: -19,
  // Taking units back would take units sold or held: the hash has fewer unsold units.
  STOCK_IN_USE: -20,
} as const;

export type CodeName = keyof typeof Code;

const names = Object.keys(Code).filter((name): name is CodeName => name in Code);
const nameOf = new Map<number, CodeName>(names.map((name) => [Code[name], name]));

// The name of a code a script answered; a number outside the table is a bug in a script.
export function codeName(value: unknown, script: string): CodeName {
  const name = typeof value === 'number' ? nameOf.get(value) : undefined;
  if (name === undefined) throw new Error(`${script} answered no known code: ${String(value)}`);
  return name;
}

// The table as the first line of every script. A name the table does not have is an error
// when the script runs, never a silent nil (which would cut the reply short).
export function luaCodeTable(): string {
  const fields = Object.entries(Code).map(([name, value]) => `${name} = ${value}`);
  return (
    `local Code = setmetatable({ ${fields.join(', ')} }, ` +
    `{ __index = function(_, name) error('no return code ' .. tostring(name)) end })`
  );
}
