import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { orders, sales } from '../db/schema.js';
import type { Gate, SaleSnapshot } from '../gate/gate.js';

// Returns a crash may leave unfinished at once, per sale; more than that and the reading
// waits for the compensator's sweep to finish some.
const maxUnreturned = 1_000;

export type DriftReading = {
  // Redis remaining minus what PostgreSQL and the reservations say it must be.
  drift: number;
  expected: number;
  // PostgreSQL's stock, from which `expected` was computed.
  stock: number;
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
        // A fast buyer may pay between the worker's commit and its confirm in Redis.
        inArray(orders.status, ['confirmed', 'paid']),
        sql`${orders.id} = any(${sql.param(inflightIds)}::text[])`,
      ),
    );
  // Expired or cancelled orders whose units Redis may not have back yet
  // (orders_return_pending_idx), read with sold so both describe one instant.
  const unreturned = sql`(SELECT coalesce(json_agg(json_build_object('id', u.id, 'quantity', u.quantity)), '[]')
    FROM (SELECT id, quantity FROM orders
          WHERE sale_id = ${saleId} AND status IN ('expired', 'cancelled') AND returned_at IS NULL
          LIMIT ${maxUnreturned + 1}) u)`;
  const [row] = await db
    .select({
      stock: sales.stock,
      sold: sales.sold,
      confirmedInFlight: sql<string>`(${confirmedInFlight})`,
      unreturned: sql<{ id: string; quantity: number }[]>`${unreturned}`,
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
// flight - units of expired or cancelled orders not yet given back in Redis. Redis is read
// before and after PostgreSQL; only when both readings agree is the result a proof (an order
// that moved in between, a return included, would change remaining or the in-flight set).
// Returns null when the sale moved or is not loaded: try again on the next pass.
// An expired or cancelled order leaves sales.sold when its row changes and comes back to
// remaining a moment later (lua/return-4.lua): until then its reservation is still F, and
// those units are neither sold nor buyable, so they are counted here, not repaired away.
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
  if (!database || database.unreturned.length > maxUnreturned) return null;
  const unreturned = database.unreturned;
  const states = await gate.reservationStates(
    saleId,
    unreturned.map((o) => o.id),
  );
  const after = await gate.saleSnapshot(saleId);
  if (!after || !sameSnapshot(before, after)) return null;
  const held = before.inflight.reduce((sum, r) => sum + r.quantity, 0) - database.confirmedInFlight;
  const notYetReturned = unreturned.reduce(
    (sum, o, i) => (states[i] === 'confirmed' ? sum + o.quantity : sum),
    0,
  );
  const expected = database.stock - database.sold - held - notYetReturned;
  return { drift: before.remaining - expected, expected, stock: database.stock, seen: after };
}
