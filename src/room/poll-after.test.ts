import { expect, it } from 'vitest';
import type { PlaceAnswer } from './place.js';
import { pollAfterOf } from './poll-after.js';

const startsAtMs = 1_000_000;
const timing = { baseMs: 2_000, nowMs: startsAtMs + 50, startsAtMs };
const prequeue: PlaceAnswer = { state: 'prequeue', position: null, ahead: null, etaSeconds: null };
const waiting: PlaceAnswer = { state: 'waiting', position: 10, ahead: 9, etaSeconds: null };
const crowd = Array.from({ length: 2_000 }, (_, i) => i + 1);

// The share of hints in each `width`-ms bin from `from`.
function spread(hints: number[], from: number, width: number, bins: number): number[] {
  const counts = new Array<number>(bins).fill(0);
  for (const hint of hints) counts[Math.min(bins - 1, Math.floor((hint - from) / width))]! += 1;
  return counts.map((count) => count / hints.length);
}

it('sends a crowd still in the prequeue after the start back soon, spread over 200-500 ms', () => {
  const hints = crowd.map((place) => pollAfterOf(prequeue, place, timing));
  expect(Math.min(...hints)).toBeGreaterThanOrEqual(200);
  expect(Math.max(...hints)).toBeLessThanOrEqual(500);
  for (const share of spread(hints, 200, 100, 3)) expect(share).toBeGreaterThan(0.25);
});

it('spreads a crowd answered together over half the base to the base, the same for a place', () => {
  for (const answer of [waiting, prequeue]) {
    const before = { ...timing, nowMs: startsAtMs - 10_000 };
    const hints = crowd.map((place) => pollAfterOf(answer, place, before));
    expect(Math.min(...hints)).toBeGreaterThanOrEqual(1_000);
    expect(Math.max(...hints)).toBeLessThanOrEqual(2_000);
    // Ten bins of 100 ms: none holds more than twice its share of the crowd.
    for (const share of spread(hints, 1_000, 100, 10)) expect(share).toBeLessThan(0.2);
    expect(crowd.map((place) => pollAfterOf(answer, place, before))).toEqual(hints);
  }
});

it('spreads a crowd with the same ETA over 0.75 to 1.25 of half the ETA, the mean kept', () => {
  for (const [etaSeconds, halfEta] of [
    [0, 250],
    [1, 500],
    [3, 1_500],
  ] as const) {
    const hints = crowd.map((place) => pollAfterOf({ ...waiting, etaSeconds }, place, timing));
    expect(Math.min(...hints)).toBeGreaterThanOrEqual(Math.floor(halfEta * 0.75));
    expect(Math.max(...hints)).toBeLessThanOrEqual(Math.ceil(halfEta * 1.25));
    const mean = hints.reduce((a, b) => a + b, 0) / hints.length;
    expect(Math.abs(mean - halfEta) / halfEta).toBeLessThan(0.02);
    // Ten bins over the range: none holds more than twice its share of the crowd.
    for (const share of spread(hints, halfEta * 0.75, halfEta / 20, 10)) {
      expect(share).toBeLessThan(0.2);
    }
    expect(crowd.map((place) => pollAfterOf({ ...waiting, etaSeconds }, place, timing))).toEqual(
      hints,
    );
  }
});

it('keeps the base for a place whose half ETA reaches it, and for admitted and closed', () => {
  const late = { ...waiting, etaSeconds: 60 };
  expect(pollAfterOf(late, 7, timing)).toBe(2_000);
  expect(pollAfterOf({ ...waiting, etaSeconds: 4 }, 7, timing)).toBe(2_000);
  const admitted: PlaceAnswer = { state: 'admitted', position: null, ahead: 0, etaSeconds: 0 };
  const closed: PlaceAnswer = { ...prequeue, state: 'closed', reason: 'SOLD_OUT' };
  expect(pollAfterOf(admitted, 7, timing)).toBe(2_000);
  expect(pollAfterOf(closed, 7, timing)).toBe(2_000);
});
