import { desc, eq, lt } from 'drizzle-orm';
import type { Database } from './client.js';
import {
  orderStatuses,
  saleChanges,
  saleOrderCounts,
  sales,
  type OrderStatus,
  type Sale,
} from './schema.js';

export type SalePage = { sales: Sale[]; nextCursor: number | null };

// Newest first by id (identity order is creation order); `cursor` is the last id of the page
// before, so a page is an index range scan however many sales there are.
export async function listSales(
  db: Database,
  { limit, cursor }: { limit: number; cursor?: number | undefined },
): Promise<SalePage> {
  const rows = await db
    .select()
    .from(sales)
    .where(cursor === undefined ? undefined : lt(sales.id, cursor))
    .orderBy(desc(sales.id))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  return { sales: page, nextCursor: rows.length > limit ? page[page.length - 1]!.id : null };
}

export type OrderCounts = Record<OrderStatus, number>;

// The sale's orders by status, from the counts the orders' trigger keeps
// (migrations/0007_sale_operations.sql): six rows at most, whatever the number of orders.
export async function orderCounts(db: Database, saleId: number): Promise<OrderCounts> {
  const rows = await db
    .select({ status: saleOrderCounts.status, orders: saleOrderCounts.orders })
    .from(saleOrderCounts)
    .where(eq(saleOrderCounts.saleId, saleId));
  const counts = Object.fromEntries(orderStatuses.map((s) => [s, 0])) as OrderCounts;
  for (const row of rows) counts[row.status] = Number(row.orders);
  return counts;
}

// What an admin may change mid-sale (API.md, Operating a sale).
export type SaleSettingsRow = Pick<Sale, 'stock' | 'perUserLimit' | 'endsAt' | 'paused'>;

export type SaleChangeAction = 'pause' | 'resume' | 'update';

export class SaleNotFoundError extends Error {
  override readonly name = 'SaleNotFoundError';
}

// Thrown by `decide` or `beforeCommit` to refuse the change: the transaction rolls back.
export type ChangeStep = {
  // The settings to write, from the sale as locked; null: nothing to change.
  decide: (sale: Sale) => SaleSettingsRow | null;
  // Runs with the row locked and the change written, before the commit (the gate's check).
  beforeCommit: (before: Sale, after: SaleSettingsRow) => Promise<void>;
};

// One admin change: the sale row locked, its new settings and the audit row written in one
// transaction, so a change is never without its record nor a record without its change.
export async function changeSaleSettings(
  db: Database,
  saleId: number,
  change: { actor: string; action: SaleChangeAction },
  step: ChangeStep,
): Promise<{ before: Sale; after: Sale; changed: boolean }> {
  return db.transaction(async (tx) => {
    const [before] = await tx.select().from(sales).where(eq(sales.id, saleId)).for('update');
    if (!before) throw new SaleNotFoundError(`no sale ${saleId}`);
    const settings = step.decide(before);
    if (settings === null) return { before, after: before, changed: false };
    const [after] = await tx
      .update(sales)
      .set({ ...settings, updatedAt: new Date() })
      .where(eq(sales.id, saleId))
      .returning();
    await tx.insert(saleChanges).values({
      saleId,
      actor: change.actor,
      action: change.action,
      before: settingsOf(before),
      after: settingsOf(after!),
    });
    await step.beforeCommit(before, settings);
    return { before, after: after!, changed: true };
  });
}

function settingsOf(sale: SaleSettingsRow) {
  return {
    stock: sale.stock,
    perUserLimit: sale.perUserLimit,
    endsAt: sale.endsAt?.toISOString() ?? null,
    paused: sale.paused,
  };
}
