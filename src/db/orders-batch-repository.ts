import type { Database } from './client.js';
import type { OrderToWrite } from './orders-repository.js';

// insertConfirmedOrder for many orders in one statement, so one transaction and one round
// trip: the multi-row insert keeps first-write-wins per row (ON CONFLICT (id) DO NOTHING),
// each sale's sold count grows once by the units actually inserted (the CHECK still guards
// it), and each buyer's units grow once per sale. Returns the ids that were inserted.
// Any guard refusing any row fails the whole statement: the caller then writes the orders
// one by one to learn whose it was. Order ids must be distinct within one call.
export const insertConfirmedOrdersStatement = 'flashline-insert-confirmed-orders';

export async function insertConfirmedOrders(
  db: Database,
  batch: readonly OrderToWrite[],
): Promise<Set<string>> {
  const result = await db.$client.query<{ id: string }>({
    // Named, so each pooled connection parses and plans it once.
    name: insertConfirmedOrdersStatement,
    text: insertConfirmedOrdersSql,
    values: [
      batch.map((o) => o.id),
      batch.map((o) => o.saleId),
      batch.map((o) => o.userId),
      batch.map((o) => o.quantity),
      batch.map((o) => o.reservedAt.toISOString()),
      batch.map((o) => o.idempotencyKey ?? null),
      batch.map((o) => o.shard ?? null),
    ],
  });
  return new Set(result.rows.map((row) => row.id));
}

// One array parameter per column, so the statement text is the same for every batch size.
const insertConfirmedOrdersSql = `
WITH input AS (
  SELECT * FROM unnest(
    $1::text[], $2::bigint[], $3::text[], $4::int[], $5::timestamptz[], $6::text[], $7::smallint[]
  ) AS t(id, sale_id, user_id, quantity, reserved_at, idempotency_key, shard)
), inserted AS (
  INSERT INTO orders (id, sale_id, user_id, quantity, status, reserved_at, idempotency_key, shard)
  SELECT id, sale_id, user_id, quantity, 'confirmed', reserved_at, idempotency_key, shard
  FROM input
  ON CONFLICT (id) DO NOTHING
  RETURNING id, sale_id, user_id, quantity
), counted AS (
  UPDATE sales SET sold = sales.sold + per_sale.units, updated_at = now()
  FROM (SELECT sale_id, sum(quantity)::int AS units FROM inserted GROUP BY sale_id) per_sale
  WHERE sales.id = per_sale.sale_id
  RETURNING sales.id, sales.per_user_limit
), buyers AS (
  INSERT INTO sale_buyers (sale_id, user_id, units, unit_limit)
  SELECT inserted.sale_id, inserted.user_id, sum(inserted.quantity)::int, counted.per_user_limit
  FROM inserted JOIN counted ON counted.id = inserted.sale_id
  GROUP BY inserted.sale_id, inserted.user_id, counted.per_user_limit
  ON CONFLICT (sale_id, user_id) DO UPDATE SET units = sale_buyers.units + excluded.units,
    unit_limit = greatest(sale_buyers.unit_limit, excluded.unit_limit)
)
SELECT id FROM inserted`;
