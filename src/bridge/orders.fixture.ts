import type { OrderJobData } from '../orders/queue.js';

// The orders the bridge's unit tests hand around: one of each id, alike but for it. Left out
// of the build (tsconfig.build.json), like the tests themselves.
export const orders = (...ids: string[]): OrderJobData[] =>
  ids.map((orderId) => ({
    orderId,
    saleId: 1,
    userId: 'buyer',
    quantity: 1,
    reservedAt: '2024-01-01T00:00:00.000Z',
  }));
