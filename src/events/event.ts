import type { OutboxRow } from '../db/order-events-repository.js';
import { orderView } from '../orders/order-view.js';

// An order event as API.md shows it (Order events): published to RabbitMQ and the webhook body.
export type OrderEvent = {
  id: string;
  type: `order.${OutboxRow['status']}`;
  occurredAt: string;
  order: ReturnType<typeof orderView>;
};

// The outbox row's id is the event's: every repeat of a publish or a delivery carries it.
export const eventId = (rowId: string) => `evt_${rowId}`;

export function toEvent(row: OutboxRow): OrderEvent {
  return {
    id: eventId(row.id),
    type: `order.${row.status}`,
    occurredAt: row.occurredAt.toISOString(),
    // The order as that change left it: the change itself set updated_at to its instant.
    order: orderView({
      id: row.orderId,
      saleId: row.saleId,
      userId: row.userId,
      quantity: row.quantity,
      status: row.status,
      reason: row.reason,
      payBy: row.payBy,
      createdAt: row.orderCreatedAt,
      updatedAt: row.occurredAt,
    }),
  };
}
