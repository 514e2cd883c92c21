import calculateSlot from 'cluster-key-slot';
import { describe, expect, it } from 'vitest';
import { homeKeys, homeOfBuyer, roomPartKeys, saleKeys, shardKeys, shardStock } from './keys.js';

const slotOf = (key: string) => calculateSlot(key);

describe('shard keys', () => {
  it('put shard i of n in the i-th n-th of the slot space, units and ledger together', () => {
    for (const shards of [2, 3, 7, 64]) {
      for (let shard = 0; shard < shards; shard++) {
        const k = shardKeys('fl', 42, shard, shards);
        const slot = slotOf(k.units);
        expect(slotOf(k.ledger)).toBe(slot);
        expect(slot).toBeGreaterThanOrEqual(Math.floor((shard * 16_384) / shards));
        expect(slot).toBeLessThan(Math.floor(((shard + 1) * 16_384) / shards));
      }
    }
  });

  it('differ from the home slot keys and between sales', () => {
    const home = saleKeys('fl', 42).sale;
    expect(shardKeys('fl', 42, 0, 3).units).not.toBe(home);
    expect(shardKeys('fl', 42, 1, 3).units).not.toBe(shardKeys('fl', 43, 1, 3).units);
  });

  it("keep a home's buyer state in its shard's slot, and spread buyers over the homes", () => {
    const shards = 4;
    for (let home = 0; home < shards; home++) {
      const k = homeKeys('fl', 42, home, shards);
      const shard = shardKeys('fl', 42, home, shards);
      expect(k.sale).toBe(shard.units);
      expect(k.ledger).toBe(shard.ledger);
      for (const key of [k.held, k.inflight, k.reservation('42.1-x'), k.idempotency('b', 'i')]) {
        expect(slotOf(key)).toBe(slotOf(shard.units));
      }
    }
    expect(homeKeys('fl', 42, null, shards).held).toBe(saleKeys('fl', 42).held);
    expect(homeKeys('fl', 42, 2, 1).held).toBe(saleKeys('fl', 42).held);
    const perHome = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) perHome[homeOfBuyer(`buyer-${i}`, shards)]! += 1;
    for (const count of perHome) expect(count).toBeGreaterThan(800);
  });

  // The join script reads the gate's `paused` with the line: one slot, on a cluster too.
  it("keep a room partition's keys in the slot of the gate's hash that holds its pause", () => {
    for (const parts of [1, 3]) {
      for (let part = 0; part < parts; part++) {
        const k = roomPartKeys('fl', 42, part, parts);
        expect(k.gate).toBe(
          parts === 1 ? saleKeys('fl', 42).sale : shardKeys('fl', 42, part, parts).units,
        );
        for (const key of [k.state, k.buyers, k.gone, k.seen(7)]) {
          expect(slotOf(key)).toBe(slotOf(k.gate));
        }
      }
    }
  });

  it('split the stock evenly, the remainder on the first shards', () => {
    expect([0, 1, 2, 3].map((s) => shardStock(10, s, 4))).toEqual([3, 3, 2, 2]);
    expect([0, 1, 2].map((s) => shardStock(2, s, 3))).toEqual([1, 1, 0]);
    for (const [stock, shards] of [
      [1, 64],
      [101, 4],
      [10_000_000, 64],
    ] as const) {
      const total = Array.from({ length: shards }, (_, s) => shardStock(stock, s, shards));
      expect(total.reduce((a, b) => a + b, 0)).toBe(stock);
    }
  });
});
