import { expect, it } from 'vitest';
import type { SaleState } from '../gate/gate.js';
import { SaleEntry } from './sale-entry.js';

const now = 1_000_000;
const rules = { perUserLimit: 2, startsAtMs: now - 60_000, endsAtMs: now + 60_000 };
const sale = (version: number, remaining: number, over: Partial<SaleState> = {}): SaleState => ({
  version,
  remaining,
  ...rules,
  shards: null,
  features: [],
  paused: false,
  ...over,
});
const read = (state: SaleState | null) => {
  const sut = new SaleEntry();
  sut.startReading();
  sut.finishReading(now, state);
  return sut;
};
const event = (version: number, remaining: number, shard: number | null = null) => ({
  saleId: 1,
  version,
  remaining,
  shard,
});

// a sale entry of the local sold-out cache
it('answers nothing before a reading, nor for a sale Redis does not have', () => {
  const sut = new SaleEntry();
  sut.onEvent(event(1, 0));
  expect(sut.refusal(now, 1)).toBeNull();
  expect(sut.refusal(now, null)).toBeNull();
  expect(read(null).refusal(now, 1)).toBeNull();
});

it('answers as the reserve script would, only while the sale is sold out', () => {
  expect(read(sale(1, 3)).refusal(now, 1)).toBeNull();
  const sut = read(sale(1, 0));
  expect(sut.refusal(now, 1)).toBe('sold_out');
  expect(sut.refusal(now, 3)).toBe('quantity_over_limit');
  expect(sut.refusal(rules.startsAtMs - 1, 1)).toBe('not_started');
  expect(sut.refusal(rules.endsAtMs, 1)).toBe('ended');
});

it('tells anyone of a sale outside its window past the clocks margin, sold out or not', () => {
  const open = read(sale(1, 3));
  expect(open.refusal(rules.startsAtMs - 1_001, null)).toBe('not_started');
  expect(open.refusal(rules.startsAtMs - 1_000, null)).toBeNull();
  expect(open.refusal(rules.endsAtMs + 999, null)).toBeNull();
  expect(open.refusal(rules.endsAtMs + 1_000, null)).toBe('ended');
  const soldOut = read(sale(1, 0));
  expect(soldOut.refusal(now, null)).toBe('sold_out');
  expect(soldOut.refusal(rules.startsAtMs - 1, null)).toBe('not_started');
  expect(soldOut.refusal(rules.endsAtMs, null)).toBe('ended');
});

it('keeps the newer of a reading and an event, by their counter', () => {
  const sut = read(sale(3, 0));
  // A stale "reopened" arriving after the reading of a later sell-out.
  sut.onEvent(event(2, 5));
  expect(sut.refusal(now, 1)).toBe('sold_out');
  // An event at the reading's own counter is the reading's own transition.
  sut.onEvent(event(3, 5));
  expect(sut.refusal(now, 1)).toBe('sold_out');
  sut.onEvent(event(4, 5));
  expect(sut.refusal(now, 1)).toBeNull();
  // A reading older than the event is not applied; one at its counter is.
  sut.startReading();
  sut.finishReading(now, sale(3, 0));
  expect(sut.refusal(now, 1)).toBeNull();
  sut.startReading();
  sut.finishReading(now, sale(4, 0));
  expect(sut.refusal(now, 1)).toBe('sold_out');
});

it('holds a sale over shards sold out only when every shard is', () => {
  const reading = { remaining: 0, version: 1 };
  const sut = read(sale(0, 1, { shards: [reading, { remaining: 1, version: 1 }, reading] }));
  expect(sut.refusal(now, 1)).toBeNull();
  sut.onEvent(event(1, 0, 1));
  expect(sut.refusal(now, 1), 'an event at the counter read is not newer').toBeNull();
  sut.onEvent(event(2, 0, 1));
  expect(sut.refusal(now, 1)).toBe('sold_out');
  sut.onEvent(event(2, 4, 0));
  expect(sut.refusal(now, 1)).toBeNull();
});

it('counts a shard event heard before the first reading, unless the reading is newer', () => {
  const sut = new SaleEntry();
  sut.onEvent(event(5, 0, 0));
  sut.onEvent(event(1, 0, 1));
  sut.startReading();
  sut.finishReading(now, sale(0, 2, { shards: [{ remaining: 2, version: 4 }, null] }));
  // Shard 0: the event (5) is newer than the reading (4); shard 1 is not loaded (empty).
  expect(sut.refusal(now, 1)).toBe('sold_out');
});

it('is read on first use, again while sold out, never twice at once', () => {
  const sut = new SaleEntry();
  expect(sut.needsReading(now, 1_000)).toBe(true);
  sut.startReading();
  expect(sut.needsReading(now, 1_000)).toBe(false);
  sut.finishReading(now, sale(1, 3));
  expect(sut.needsReading(now + 5_000, 1_000), 'open: events keep it').toBe(false);
  const soldOut = read(sale(1, 0));
  expect(soldOut.needsReading(now + 999, 1_000)).toBe(false);
  expect(soldOut.needsReading(now + 1_000, 1_000)).toBe(true);
  expect(read(null).needsReading(now + 1_000, 1_000), 'not found: asked again').toBe(true);
});
