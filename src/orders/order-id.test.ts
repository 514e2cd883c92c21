import { describe, expect, it } from 'vitest';
import { mintOrderId, saleIdOfOrder } from './order-id.js';

describe('order ids', () => {
  it('carry their sale id and are unique', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => mintOrderId(42)));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(saleIdOfOrder(id)).toBe(42);
  });

  it('reject anything else', () => {
    for (const bad of [
      '',
      '42',
      '0-00000000-0000-0000-0000-000000000000',
      '42-not-a-uuid',
      `42-${'a'.repeat(36)}`,
      '../etc/passwd',
    ]) {
      expect(saleIdOfOrder(bad)).toBeNull();
    }
  });
});
