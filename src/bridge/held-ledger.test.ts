import { describe, expect, it } from 'vitest';
import { HeldLedger, unsettledOrders } from './held-ledger.js';
import { orders } from './orders.fixture.js';

describe('HeldLedger', () => {
  it('holds a message until every order in it has its row, then hands it back once', () => {
    const sut = new HeldLedger<string, string>();
    sut.hold('ch', 'm1', orders('a', 'b'), 0);
    sut.hold('ch', 'm2', orders('c'), 0);
    expect([sut.size, sut.orders]).toEqual([2, 3]);

    expect(sut.settle(['a'])).toEqual([]);
    expect([sut.size, sut.orders]).toEqual([2, 2]);
    expect(sut.settle(['b', 'c']).map((h) => h.message)).toEqual(['m1', 'm2']);
    expect([sut.size, sut.orders]).toEqual([0, 0]);
    expect(sut.settle(['a', 'b', 'c'])).toEqual([]);
  });

  it('holds an order delivered twice in both messages, and settles both with it', () => {
    const sut = new HeldLedger<string, string>();
    sut.hold('ch', 'm1', orders('a', 'b'), 0);
    sut.hold('ch', 'm2', orders('a'), 0);
    expect(sut.orders).toBe(3);

    expect(sut.settle(['a']).map((h) => h.message)).toEqual(['m2']);
    expect(sut.settle(['b']).map((h) => h.message)).toEqual(['m1']);
  });

  it('forgets the messages of a closed channel from both of its indexes', () => {
    const sut = new HeldLedger<string, string>();
    sut.hold('old', 'm1', orders('a', 'b'), 0);
    sut.hold('new', 'm2', orders('a'), 0);

    sut.keepOnly('new');
    expect([sut.size, sut.orders]).toEqual([1, 1]);
    expect(sut.settle(['b'])).toEqual([]);
    expect(sut.settle(['a']).map((h) => [h.channel, h.message])).toEqual([['new', 'm2']]);
  });

  it('lists the unsettled orders held since a time, oldest first, whole messages up to a cap', () => {
    const sut = new HeldLedger<string, string>();
    sut.hold('ch', 'm1', orders('a', 'b'), 100);
    sut.hold('ch', 'm2', orders('c', 'd'), 200);
    sut.hold('ch', 'm3', orders('e'), 300);
    sut.settle(['b']);

    expect(sut.unsettledSince(250, 100)).toEqual(['a', 'c', 'd']);
    expect(sut.unsettledSince(150, 100)).toEqual(['a']);
    expect(sut.unsettledSince(300, 2)).toEqual(['a', 'c', 'd']);
    expect(sut.unsettledSince(50, 100)).toEqual([]);
  });

  it('tells whether a message waited since a time, until its jobs are added again', () => {
    const sut = new HeldLedger<string, string>();
    sut.hold('ch', 'm1', orders('a', 'b'), 100);
    sut.hold('ch', 'm2', orders('c'), 200);
    sut.settle(['a']);
    expect(sut.heldSince(150)).toBe(true);
    expect(sut.heldSince(50)).toBe(false);

    const held = sut.snapshot();
    expect(unsettledOrders(held).map((o) => o.orderId)).toEqual(['b', 'c']);
    sut.readded(held, 1_000);
    expect(sut.heldSince(999)).toBe(false);
    expect(sut.heldSince(1_000)).toBe(true);
  });
});
