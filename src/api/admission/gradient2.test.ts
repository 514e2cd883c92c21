import { describe, expect, it } from 'vitest';
import { gradient2Step, initialState, type Gradient2Options } from './gradient2.js';

const options: Gradient2Options = { initialLimit: 20, minLimit: 2, maxLimit: 200 };

// Runs `windows` windows of the same sample through the limit.
function run(windows: number, shortRttMs: number | null, peakInFlight: (limit: number) => number) {
  let state = initialState(options);
  for (let i = 0; i < windows; i++) {
    state = gradient2Step(options, state, {
      shortRttMs,
      peakInFlight: peakInFlight(state.limit),
    }).state;
  }
  return state;
}

describe('Gradient2 limit, one window at a time', () => {
  it('grows while the limit is used and the latency holds', () => {
    const sut = run(50, 5, (limit) => limit);
    expect(sut.limit).toBeGreaterThan(options.initialLimit);
  });

  it('does not grow past the initial limit while app limited', () => {
    const sut = run(50, 5, () => 1);
    expect(sut.limit).toBe(options.initialLimit);
  });

  it('falls when the latency rises past the tolerance, by at most half a window', () => {
    let state = run(20, 5, (limit) => limit);
    const before = state.limit;
    const step = gradient2Step(options, state, { shortRttMs: 500, peakInFlight: before });
    state = step.state;
    expect(step.gradient).toBe(0.5);
    expect(state.limit).toBeLessThan(before);
    expect(state.limit).toBeGreaterThanOrEqual(before * 0.5);
    for (let i = 0; i < 100; i++) {
      state = gradient2Step(options, state, { shortRttMs: 500 * (i + 2), peakInFlight: 40 }).state;
    }
    // Where halving each window meets the sqrt(limit) queue it allows: 0.1 L = 0.2 sqrt(L).
    expect(state.limit).toBeLessThan(4.2);
  });

  it('comes back to the initial limit once idle', () => {
    let state = initialState(options);
    state = { ...state, limit: options.minLimit };
    for (let i = 0; i < 100; i++) {
      state = gradient2Step(options, state, { shortRttMs: null, peakInFlight: 0 }).state;
    }
    expect(state.limit).toBe(options.initialLimit);
  });
});
