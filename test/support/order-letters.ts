import type { DeadLetter, OrderMessage } from '../../src/broker/messages.js';

// What the tests of redelivery and dead letters hand the worker or the compensator by hand:
// an order's message as the API publishes it, and the dead letter the worker writes of it.

// An order's message, reserved now.
export const messageOf = (
  orderId: string,
  saleId: number,
  userId: string,
  quantity: number,
): OrderMessage => ({ orderId, saleId, userId, quantity, reservedAt: new Date().toISOString() });

// Its dead letter, failed now for `reason` after eight attempts (JOB_ATTEMPTS' default).
export const deadLetterOf = (order: OrderMessage, reason: string): DeadLetter => ({
  ...order,
  reason,
  attempts: 8,
  failedAt: new Date().toISOString(),
});
