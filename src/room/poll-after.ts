import type { PlaceAnswer } from './place.js';

// Where in [0, 1) a place's polls fall: Knuth's multiplicative hash of its number, so that
// places next to each other are far apart, and every process (the poll's front door and the
// app alike) tells a place the same thing.
export function phaseOf(place: number): number {
  return (Math.imul(place, 0x9e3779b1) >>> 0) / 2 ** 32;
}

export type PollTiming = { baseMs: number; nowMs: number; startsAtMs: number };

// When a place should ask again (`pollAfterMs`). A crowd is answered together at the start,
// and a fixed hint brings it back together: bench:room's traces showed every purchase of the
// first second sent within 0.6 s, two seconds after the start, as the crowd that had polled at
// the start came back to find a thousand places admitted at once (bench/README.md, "Release
// pacing"). So the hint is spread by each place's phase:
// - a waiting place with an ETA: half its ETA (at least 250 ms, at most the base), times
//   0.75 to 1.25 by phase when under the base. The mean is unchanged, and a crowd that polled
//   together drifts apart: one hint for every place near the front kept it in step, and each
//   tick's admissions came back to buy as one burst (bench/README.md, "The front's return
//   spread"). A place further than the base keeps it: it is not bought soon;
// - a place still in the prequeue after the start (this process has not read the draw yet,
//   which it does within ROOM_VIEW_MS): soon, in 200-500 ms, to learn its position;
// - any other waiting or prequeue place: between half the base and the base.
export function pollAfterOf(answer: PlaceAnswer, place: number, timing: PollTiming): number {
  const { baseMs } = timing;
  const phase = phaseOf(place);
  const halfEta =
    answer.state === 'waiting' && answer.etaSeconds !== null ? answer.etaSeconds * 500 : null;
  if (halfEta !== null) {
    if (halfEta >= baseMs) return baseMs;
    return Math.round(Math.min(baseMs, Math.max(250, halfEta) * (0.75 + 0.5 * phase)));
  }
  if (answer.state === 'prequeue' && timing.nowMs >= timing.startsAtMs) {
    return Math.round(200 + 300 * phase);
  }
  if (answer.state === 'prequeue' || answer.state === 'waiting') {
    return Math.round(baseMs * (0.5 + 0.5 * phase));
  }
  return baseMs;
}
