import type { ConsumeMessage } from 'amqplib';
import { deadLetterSchema, decode, decodeOrders } from '../broker/messages.js';
import type { OrderToWrite } from '../db/orders-repository.js';

export type FailedOrder = { order: OrderToWrite; reason: string };

// What a dead letter asks to compensate: an order a worker gave up on (with its reason), or
// an order message the broker dead-lettered by itself (expired, or rejected while valid),
// which may hold several orders. Anything else is not an order and is parked.
export function readDeadLetter(message: ConsumeMessage): FailedOrder[] | null {
  const letter = decode(deadLetterSchema, message.content);
  const orders = letter ? [letter] : decodeOrders(message.content);
  if (!orders) return null;
  const reason = letter?.reason ?? `broker_${brokerDeathReason(message)}`;
  return orders.map((order) => ({
    order: {
      id: order.orderId,
      saleId: order.saleId,
      userId: order.userId,
      quantity: order.quantity,
      reservedAt: new Date(order.reservedAt),
    },
    reason,
  }));
}

function brokerDeathReason(message: ConsumeMessage): string {
  const deaths = message.properties.headers?.['x-death'] as { reason?: unknown }[] | undefined;
  const reason = deaths?.[0]?.reason;
  return typeof reason === 'string' ? reason : 'dead_lettered';
}
