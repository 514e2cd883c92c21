import type { OrderStatus } from '../db/schema.js';

type OrderRowView = {
  id: string;
  saleId: number;
  userId: string;
  quantity: number;
  status: OrderStatus;
  reason: string | null;
  payBy: Date | null;
  createdAt: Date;
  updatedAt: Date;
};

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
