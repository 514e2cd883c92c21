import { and, eq, sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { orders, sales } from '../db/schema.js';
import type { Gate, SaleSnapshot } from '../gate/gate.js';

export type DriftReading = {
  // Redis remaining minus what PostgreSQL and the reservations say it must be.
  drift: number;
  expected: number;
  seen: SaleSnapshot;
};

// Stock, sold units, and the units of the given in-flight orders already committed as
// confirmed, in one statement so they share one snapshot: a worker commits before it
// confirms in Redis, so for a moment an order is both sold and in flight.
async function readDatabaseSide(db: Database, saleId: number, inflightIds: string[]) {
  const confirmedInFlight = db
    .select({ units: sql`coalesce(sum(${orders.quantity}), 0)` })
    .from(orders)
    .where(
      and(
        eq(orders.status, 'confirmed'),
        sql`${orders.id} = any(${sql.param(inflightIds)}::text[])`,
      ),
    );
  const [row] = await db
    .select({
      stock: sales.stock,
      sold: sales.sold,
      confirmedInFlight: sql<string>`(${confirmedInFlight})`,
    })
    .from(sales)
    .where(eq(sales.id, saleId));
  return row ? { ...row, confirmedInFlight: Number(row.confirmedInFlight) } : null;
}

const sameSnapshot = (a: SaleSnapshot, b: SaleSnapshot) =>
  a.remaining === b.remaining &&
  a.inflight.length === b.inflight.length &&
  a.inflight.every((r, i) => r.orderId === b.inflight[i]?.orderId);

// Checks DESIGN.md's invariant, remaining = stock - sold - units held by reservations in
// flight. Redis is read before and after PostgreSQL; only when both readings agree is the
// result a proof (an order that moved in between would change remaining or the in-flight
// set). Returns null when the sale moved or is not loaded: try again on the next pass.
export async function readDrift(
  db: Database,
  gate: Gate,
  saleId: number,
): Promise<DriftReading | null> {
  const before = await gate.saleSnapshot(saleId);
  if (!before) return null;
  const database = await readDatabaseSide(
    db,
    saleId,
    before.inflight.map((r) => r.orderId),
  );
  const after = await gate.saleSnapshot(saleId);
  if (!database || !after || !sameSnapshot(before, after)) return null;
  const held = before.inflight.reduce((sum, r) => sum + r.quantity, 0) - database.confirmedInFlight;
  const expected = database.stock - database.sold - held;
  return { drift: before.remaining - expected, expected, seen: after };
}
