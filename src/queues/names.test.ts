import calculateSlot from 'cluster-key-slot';
import { describe, expect, it } from 'vitest';
import { mintOrderId } from '../gate/order-id.js';
import { orderQueueIndex, orderQueueNames } from './names.js';

describe('order queues', () => {
  it('puts queue i of n in the i-th n-th of the slot space, one tag per queue', () => {
    for (const n of [1, 3, 12]) {
      const sut = orderQueueNames({ queues: { orderQueues: n } });
      expect(new Set(sut).size).toBe(n);
      sut.forEach((name, i) => {
        expect(name).toMatch(/^\{[^{}:]+\}$/);
        const slot = calculateSlot(name);
        expect(slot).toBeGreaterThanOrEqual(Math.floor((i * 16_384) / n));
        expect(slot).toBeLessThan(Math.floor(((i + 1) * 16_384) / n));
      });
    }
  });

  it('gives an order the same queue every time, and spreads orders evenly', () => {
    const counts = new Array<number>(12).fill(0);
    for (let i = 0; i < 12_000; i++) {
      const orderId = mintOrderId(1 + (i % 7));
      const sut = orderQueueIndex(orderId, 12);
      expect(orderQueueIndex(orderId, 12)).toBe(sut);
      counts[sut]! += 1;
    }
    for (const count of counts) expect(count).toBeGreaterThan(700);
  });
});
