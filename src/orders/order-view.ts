import type { CursorOrder } from '../db/order-cursor.js';

// A row as PostgreSQL returns it, in a read or a cursor: the same fields either way.
type OrderRowView = CursorOrder;

// The order as API.md shows it (GET /orders/:orderId, the cancel and the webhook answers, and
// the order events).
export function orderView(row: OrderRowView) {
  return {
    orderId: row.id,
    saleId: row.saleId,
    userId: row.userId,
    quantity: row.quantity,
    status: row.status,
    ...(row.reason ? { reason: row.reason } : {}),
    ...(row.payBy ? { payBy: row.payBy.toISOString() } : {}),
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}
