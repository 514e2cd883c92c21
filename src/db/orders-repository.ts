import { eq, sql } from 'drizzle-orm';
import type { Database } from './client.js';
import { orders, sales, saleBuyers, type Order } from './schema.js';

export type OrderToWrite = {
  id: string;
  saleId: number;
  userId: string;
  quantity: number;
  reservedAt: Date;
  idempotencyKey?: string | undefined;
  // The gate shard holding its unit (a sale over shards).
  shard?: number | undefined;
};

export class SaleMissingError extends Error {
  override readonly name = 'SaleMissingError';
}

// The limit PostgreSQL holds a buyer to: the highest the sale has had (sale_changes keeps
// every earlier one), so an order the gate accepted before an admin lowered the limit still
// commits; the gate judges purchases from then on at the lower one (API.md: from now on).
// Written with the table's name, not drizzle's columns: in an UPDATE's RETURNING drizzle
// leaves a column unqualified, and inside the subquery a bare "id" is sale_changes' own id,
// so the history was looked up by `c.sale_id = c.id` and found by chance or not at all. A
// lowered limit then refused a buyer's orders accepted before it (a one-by-one write, after a
// batch that raced the change; test/buyer-limit.test.ts).
export const buyerLimitSql = sql<number>`greatest("sales"."per_user_limit", coalesce((
  SELECT max((c.before->>'perUserLimit')::int) FROM sale_changes c WHERE c.sale_id = "sales"."id"
), 0))`;

// Writes the order as confirmed and counts its units against the sale and the buyer, in one
// transaction. First write wins: returns false when a row for this id already existed (a
// job run twice, or the compensator got there first), in which case nothing was changed.
// The CHECK constraints on sales.sold and sale_buyers.units refuse oversell and over-limit
// with SQLSTATE 23514, which callers treat as permanent.
export async function insertConfirmedOrder(db: Database, order: OrderToWrite): Promise<boolean> {
  return db.transaction(async (tx) => {
    const inserted = await tx
      .insert(orders)
      .values({ ...order, status: 'confirmed' })
      .onConflictDoNothing({ target: orders.id })
      .returning({ id: orders.id });
    if (inserted.length === 0) return false;
    const counted = await tx
      .update(sales)
      .set({ sold: sql`${sales.sold} + ${order.quantity}`, updatedAt: sql`now()` })
      .where(eq(sales.id, order.saleId))
      .returning({ perUserLimit: buyerLimitSql });
    const sale = counted[0];
    if (!sale) throw new SaleMissingError(`sale ${order.saleId} does not exist`);
    await tx
      .insert(saleBuyers)
      .values({
        saleId: order.saleId,
        userId: order.userId,
        units: order.quantity,
        unitLimit: sale.perUserLimit,
      })
      .onConflictDoUpdate({
        target: [saleBuyers.saleId, saleBuyers.userId],
        // A limit raised mid-sale applies to buyers who bought before; one lowered does not
        // refuse their orders accepted before it (API.md: from now on, which the gate judges).
        set: {
          units: sql`${saleBuyers.units} + excluded.units`,
          unitLimit: sql`greatest(${saleBuyers.unitLimit}, excluded.unit_limit)`,
        },
      });
    return true;
  });
}

// First write wins here too: returns false when the order already has a row (confirmed by a
// worker, or failed by an earlier delivery), and then the caller must not return stock.
export async function insertFailedOrder(
  db: Database,
  order: OrderToWrite,
  reason: string,
): Promise<boolean> {
  const inserted = await db
    .insert(orders)
    .values({ ...order, status: 'failed', reason })
    .onConflictDoNothing({ target: orders.id })
    .returning({ id: orders.id });
  return inserted.length > 0;
}

// The ids, of those given, that have a row: their orders ended (confirmed or failed).
export async function ordersWithRows(db: Database, ids: readonly string[]): Promise<Set<string>> {
  const result = await db.$client.query<{ id: string }>({
    name: 'flashline-orders-with-rows',
    text: 'SELECT id FROM orders WHERE id = ANY($1::text[])',
    values: [ids],
  });
  return new Set(result.rows.map((row) => row.id));
}

export async function findOrder(db: Database, id: string): Promise<Order | null> {
  const [row] = await db.select().from(orders).where(eq(orders.id, id));
  return row ?? null;
}
