import { describe, expect, it } from 'vitest';
import { homeOfOrder, mintOrderId, saleIdOfOrder } from './order-id.js';

describe('order ids', () => {
  it('carry their sale id and are unique', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => mintOrderId(42)));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(saleIdOfOrder(id)).toBe(42);
  });

  it('name the home shard of an order of a sale over shards', () => {
    for (const home of [0, 7, 63]) {
      const id = mintOrderId(42, home);
      expect(saleIdOfOrder(id)).toBe(42);
      expect(homeOfOrder(id)).toBe(home);
    }
    expect(homeOfOrder(mintOrderId(42))).toBeNull();
  });

  it('reject anything else', () => {
    for (const bad of [
      '',
      '42',
      '0-00000000-0000-0000-0000-000000000000',
      '42-not-a-uuid',
      `42-${'a'.repeat(36)}`,
      '../etc/passwd',
      '42.-00000000-0000-0000-0000-000000000000',
      '42.01-00000000-0000-0000-0000-000000000000',
      '42.100-00000000-0000-0000-0000-000000000000',
    ]) {
      expect(saleIdOfOrder(bad)).toBeNull();
    }
  });
});
