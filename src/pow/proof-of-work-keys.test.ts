import calculateSlot from 'cluster-key-slot';
import { describe, expect, it } from 'vitest';
import { proofOfWorkKeys, saleKeys } from '../gate/keys.js';

describe('proof-of-work keys', () => {
  it("live in the sale's own slot, whatever the buyer or address holds", () => {
    const slot = calculateSlot(saleKeys('fl', 42).sale);
    const keys = proofOfWorkKeys('fl', 42);
    for (const key of [
      keys.spent('0f'.repeat(16)),
      keys.crowd(1_800_000_000),
      keys.buyerWindow('{evil}:buyer', 7),
      keys.addressWindow('2001:db8:1:2::/64', 7),
    ])
      expect(calculateSlot(key), key).toBe(slot);
  });

  it('keep buyers whose ids run into each other apart', () => {
    const keys = proofOfWorkKeys('fl', 42);
    expect(keys.buyerWindow('a:1', 2)).not.toBe(keys.buyerWindow('a', 12));
  });
});
