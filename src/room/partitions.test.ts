import { expect, it } from 'vitest';
import {
  composeBitmaps,
  frontierOf,
  localsUpTo,
  orderedRegion,
  partBitmap,
  partKeysOf,
  partOfPlace,
  placeOf,
  topOf,
} from './partitions.js';
import { drawOrder, orderOf } from './draw.js';

const bits = (bitmap: Buffer | null, upTo: number) =>
  Array.from({ length: upTo + 1 }, (_, i) => i).filter(
    (i) => bitmap !== null && ((bitmap[i >> 3] ?? 0) & (0x80 >> (i & 7))) !== 0,
  );

// A line in partitions (docs/waiting-room.md, "Sharded sales").
it('numbers places by round, one partition being the place itself', () => {
  for (const parts of [1, 3, 4]) {
    for (let place = 1; place <= 50; place++) {
      const { part, local } = partOfPlace(place, parts);
      expect(placeOf(part, local, parts)).toBe(place);
      expect(localsUpTo(part, place, parts)).toBe(local);
    }
  }
  expect(partOfPlace(7, 1)).toEqual({ part: 0, local: 7 });
});

it('walks no further than every partition has handed out', () => {
  expect(frontierOf([5])).toBe(5);
  // Partition 1 is at local 2 (place 5): place 7 (its local 3) may still be handed out.
  expect(frontierOf([4, 2, 4])).toBe(2 * 3 + 1);
  expect(topOf([4, 2, 4])).toBe(12);
  expect(frontierOf([3, 3, 3])).toBe(9);
});

it('orders the prequeue first, then the places numbered after the start', () => {
  const { size, prequeue, after } = orderedRegion([2, 1]);
  expect(size).toBe(4);
  expect(prequeue).toEqual([1, 2, 3]);
  expect(after).toEqual([4]);
  const order = orderOf(drawOrder([2, 1]));
  expect([...order.subarray(0, 3)].sort()).toEqual([1, 2, 3]);
  expect(order[3]).toBe(4);
  expect([...orderOf(drawOrder(5))].sort()).toEqual([1, 2, 3, 4, 5]);
});

it("composes the line's bitmap from the partitions' and splits it back", () => {
  const a = Buffer.alloc(2);
  const b = Buffer.alloc(2);
  a[0] = 0x40; // local 1 of partition 0: place 1
  b[0] = 0x30; // locals 2, 3 of partition 1: places 4, 6
  const line = composeBitmaps([a, b], 8);
  expect(bits(line, 16)).toEqual([1, 4, 6]);
  expect(bits(partBitmap(line, 0, 2), 16)).toEqual([1]);
  expect(bits(partBitmap(line, 1, 2), 16)).toEqual([2, 3]);
});

it("builds a partition's keys once, and keeps only the partitions used most lately", () => {
  const keysOf = partKeysOf('fl:');
  const first = keysOf(1, 0, 1);
  expect(keysOf(1, 0, 1)).toBe(first);
  // Sale after sale, as a process running for months sees them: the first makes room.
  for (let saleId = 2; saleId <= 5_000; saleId++) keysOf(saleId, 0, 1);
  const again = keysOf(1, 0, 1);
  expect(again).not.toBe(first);
  expect({ ...again, seen: again.seen(7) }).toEqual({ ...first, seen: first.seen(7) });
});
