// Netflix concurrency-limits' Gradient2Limit (com.netflix.concurrency.limits.limit.Gradient2Limit),
// one window at a time: the limit follows the ratio of the long-term RTT (an exponential average
// over `longWindow` windows) to this window's RTT. A ratio near 1 means no queue is building and
// the limit grows by the allowed queue (sqrt of the limit); a short RTT above `rttTolerance` times
// the long one shrinks it, by at most half per window, smoothed. Two departures, both for an
// API answering buyers rather than a client calling a server:
// - "app limited" (fewer than half the limit in flight) freezes growth only above the initial
//   limit, so a process whose limit a stall pulled down comes back to it once load falls;
// - the window's RTT may come from requests still in flight (their mean age), so a dependency
//   that stops answering lowers the limit before anything completes.

export type Gradient2Options = {
  initialLimit: number;
  minLimit: number;
  maxLimit: number;
  // Gradient2's defaults.
  smoothing?: number;
  rttTolerance?: number;
  longWindow?: number;
};

export type Gradient2State = {
  limit: number;
  // The long-term RTT (ms), or null before the first sample.
  longRttMs: number | null;
  // Windows averaged so far, for the warm-up (a plain mean over the first `warmupWindows`).
  windows: number;
};

export type WindowSample = {
  // Mean RTT of the window (ms), or null when nothing finished or was in flight.
  shortRttMs: number | null;
  // Most requests in flight at once during the window.
  peakInFlight: number;
};

export type Gradient2Step = { state: Gradient2State; gradient: number };

const warmupWindows = 10;

export function initialState(options: Gradient2Options): Gradient2State {
  return { limit: options.initialLimit, longRttMs: null, windows: 0 };
}

export function gradient2Step(
  options: Gradient2Options,
  state: Gradient2State,
  sample: WindowSample,
): Gradient2Step {
  const smoothing = options.smoothing ?? 0.2;
  const tolerance = options.rttTolerance ?? 1.5;
  const longWindow = options.longWindow ?? 600;
  const { limit } = state;
  const queue = Math.sqrt(limit);
  const clamp = (value: number) => Math.max(options.minLimit, Math.min(options.maxLimit, value));

  // No traffic: nothing to learn; only the way back up to the initial limit.
  if (sample.shortRttMs === null) {
    const grown = Math.min(Math.max(limit, options.initialLimit), limit + queue);
    return { state: { ...state, limit: clamp(grown) }, gradient: 1 };
  }
  const shortRtt = Math.max(sample.shortRttMs, 0.001);
  const windows = state.windows + 1;
  let longRtt =
    state.longRttMs === null
      ? shortRtt
      : windows <= warmupWindows
        ? state.longRttMs + (shortRtt - state.longRttMs) / windows
        : state.longRttMs + (shortRtt - state.longRttMs) * (2 / (longWindow + 1));
  // Latency back to normal after a long overload: do not wait for the average to forget it.
  if (longRtt / shortRtt > 2) longRtt *= 0.95;

  const gradient = Math.max(0.5, Math.min(1, (tolerance * longRtt) / shortRtt));
  let next = limit * gradient + queue;
  next = limit * (1 - smoothing) + next * smoothing;
  const appLimited = sample.peakInFlight < limit / 2;
  if (appLimited && next > limit) next = Math.min(next, Math.max(limit, options.initialLimit));
  return { state: { limit: clamp(next), longRttMs: longRtt, windows }, gradient };
}
