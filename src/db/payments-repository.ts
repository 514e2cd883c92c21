import type { Database } from './client.js';
import { returnedStatuses, type Order } from './schema.js';

// One guarded UPDATE per transition out of `confirmed` (API.md, Payment): the order row is
// the arbiter, the first write wins, and the units of an order leaving as expired or
// cancelled leave sales.sold and the buyer's sale_buyers.units in the same statement.
// Every clock comparison is against the database's now(), the clock that set pay_by.

export type OrderRow = {
  id: string;
  saleId: number;
  userId: string;
  quantity: number;
  status: Order['status'];
  reservedAt: Date;
  payBy: Date | null;
  paymentId: string | null;
  paidAt: Date | null;
  returnedAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  reason: string | null;
  shard: number | null;
};

// Written out, not a parameter, so the planner can match orders_return_pending_idx.
const returnedList = returnedStatuses.map((status) => `'${status}'`).join(', ');

const columns = `id, sale_id, user_id, quantity, status, reserved_at, pay_by, payment_id, paid_at,
  returned_at, created_at, updated_at, reason, shard`;

type RawRow = {
  id: string;
  sale_id: string;
  user_id: string;
  quantity: number;
  status: Order['status'];
  reserved_at: Date;
  pay_by: Date | null;
  payment_id: string | null;
  paid_at: Date | null;
  returned_at: Date | null;
  created_at: Date;
  updated_at: Date;
  reason: string | null;
  shard: number | null;
};

const toRow = (r: RawRow): OrderRow => ({
  id: r.id,
  saleId: Number(r.sale_id),
  userId: r.user_id,
  quantity: r.quantity,
  status: r.status,
  reservedAt: r.reserved_at,
  payBy: r.pay_by,
  paymentId: r.payment_id,
  paidAt: r.paid_at,
  returnedAt: r.returned_at,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  reason: r.reason,
  shard: r.shard,
});

// The row, and whether its window has passed by the database clock.
export async function readOrder(
  db: Database,
  orderId: string,
): Promise<(OrderRow & { due: boolean }) | null> {
  const result = await db.$client.query<RawRow & { due: boolean }>(
    `SELECT ${columns}, coalesce(pay_by <= now(), false) AS due FROM orders WHERE id = $1`,
    [orderId],
  );
  const row = result.rows[0];
  return row ? { ...toRow(row), due: row.due } : null;
}

// confirmed -> paid, only before pay_by. Null when the update did not take effect.
export async function markPaid(
  db: Database,
  orderId: string,
  paymentId: string,
): Promise<OrderRow | null> {
  const result = await db.$client.query<RawRow>(
    `UPDATE orders SET status = 'paid', payment_id = $2, paid_at = now(), updated_at = now()
     WHERE id = $1 AND status = 'confirmed' AND pay_by > now()
     RETURNING ${columns}`,
    [orderId, paymentId],
  );
  const row = result.rows[0];
  return row ? toRow(row) : null;
}

export type Returning = 'expired' | 'cancelled';

// confirmed -> expired (only once pay_by has passed) or -> cancelled (only by its buyer,
// only before pay_by), giving the units back in PostgreSQL in the same statement.
// `lateSeconds`: how long after pay_by the expiry took effect.
export async function markReturning(
  db: Database,
  orderId: string,
  to: Returning,
  buyer?: string,
): Promise<(OrderRow & { lateSeconds: number }) | null> {
  const guard = to === 'expired' ? 'pay_by <= now()' : 'pay_by > now() AND user_id = $3::text';
  const result = await db.$client.query<RawRow & { late_seconds: number }>(
    `WITH changed AS (
       UPDATE orders SET status = $2::text, updated_at = now()
       WHERE id = $1 AND status = 'confirmed' AND pay_by IS NOT NULL AND ${guard}
       RETURNING ${columns}
     ), sold AS (
       UPDATE sales SET sold = sales.sold - changed.quantity, updated_at = now()
       FROM changed WHERE sales.id = changed.sale_id
     ), buyer AS (
       UPDATE sale_buyers SET units = sale_buyers.units - changed.quantity
       FROM changed
       WHERE sale_buyers.sale_id = changed.sale_id AND sale_buyers.user_id = changed.user_id
     )
     SELECT changed.*, extract(epoch FROM now() - changed.pay_by)::float8 AS late_seconds
     FROM changed`,
    to === 'expired' ? [orderId, to] : [orderId, to, buyer ?? ''],
  );
  const row = result.rows[0];
  return row ? { ...toRow(row), lateSeconds: Number(row.late_seconds) } : null;
}

// The units of this expired or cancelled order are back in Redis too.
export async function markReturned(db: Database, orderId: string): Promise<void> {
  await db.$client.query(
    'UPDATE orders SET returned_at = now() WHERE id = $1 AND returned_at IS NULL',
    [orderId],
  );
}

// Confirmed orders whose window has passed, oldest first (orders_unpaid_pay_by_idx).
export async function dueOrders(db: Database, limit: number): Promise<string[]> {
  const result = await db.$client.query<{ id: string }>(
    `SELECT id FROM orders
     WHERE status = 'confirmed' AND pay_by IS NOT NULL AND pay_by <= now()
     ORDER BY pay_by LIMIT $1`,
    [limit],
  );
  return result.rows.map((row) => row.id);
}

// Expired or cancelled orders whose return to Redis a crash left unfinished
// (orders_return_pending_idx); `saleId` narrows to one sale.
export async function unreturnedOrders(
  db: Database,
  limit: number,
  saleId?: number,
): Promise<OrderRow[]> {
  const result = await db.$client.query<RawRow>(
    `SELECT ${columns} FROM orders
     WHERE status IN (${returnedList}) AND returned_at IS NULL
       AND ($2::bigint IS NULL OR sale_id = $2::bigint)
     ORDER BY updated_at LIMIT $1`,
    [limit, saleId ?? null],
  );
  return result.rows.map(toRow);
}
