import { randomUUID } from 'node:crypto';
import type { OrderMessage } from '../../src/broker/messages.js';

// A well-formed order message of sale 7, with a fresh id, as the API would publish it.
export const orderMessage = (): OrderMessage => ({
  orderId: `7-${randomUUID()}`,
  saleId: 7,
  userId: 'buyer',
  quantity: 1,
  reservedAt: new Date().toISOString(),
});
