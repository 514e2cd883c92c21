import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { orders, type Sale } from '../db/schema.js';
import { shardStock } from '../gate/keys.js';

// Each shard's stock for a sale over shards loaded back after Redis forgot it: the units its
// orders hold (PostgreSQL's `orders.shard`), plus an even share of the units nobody holds.
// The even split of the whole stock would be wrong once an admin took units back from the
// shards that had them: a shard would hold more orders than its share and go below zero
// while another offered units the sale no longer has. Undefined for a sale without shards.
export async function shardStocksFor(db: Database, sale: Sale): Promise<number[] | undefined> {
  if (sale.shards <= 1) return undefined;
  const rows = await db
    .select({ shard: orders.shard, units: sql<number>`sum(${orders.quantity})::int` })
    .from(orders)
    .where(and(eq(orders.saleId, sale.id), inArray(orders.status, ['confirmed', 'paid'])))
    .groupBy(orders.shard);
  const held = Array.from({ length: sale.shards }, () => 0);
  for (const row of rows) {
    if (row.shard !== null && row.shard < sale.shards) held[row.shard]! += Number(row.units);
  }
  const free = sale.stock - held.reduce((sum, units) => sum + units, 0);
  // PostgreSQL's guard keeps sold <= stock; a sum above it is orders without a shard.
  if (free < 0) return undefined;
  return held.map((units, shard) => units + shardStock(free, shard, sale.shards));
}
