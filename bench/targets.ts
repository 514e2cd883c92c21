import type { OverloadResult } from './overload.js';
import type { Report, Target } from './report.js';
import type { RoomBenchResult } from './waiting-room.js';

// Each target of bench/README.md: a measure against its ceiling, and whether it is met.

const round = (x: number) => Math.round(x * 100) / 100;

export function targetsOf(report: Report): Target[] {
  const m = report.measures;
  const atLeast = (name: string, measured: number, against: number, factor: number) => ({
    name,
    measured,
    against,
    ratio: round(measured / against),
    target: `>= ${factor}x`,
    met: measured >= factor * against,
  });
  const atMost = (name: string, measured: number, against: number, factor: number) => ({
    name,
    measured,
    against,
    ratio: round(measured / against),
    target: `<= ${factor}x`,
    met: measured <= factor * against,
  });
  return [
    atLeast(
      "(b) accepted / (a') raw publishes",
      m.acceptedFlat.perSecond,
      m.rawPublishesPerSecond,
      0.5,
    ),
    atLeast('(c) sold out / (a) bare route', m.soldOutFlat.perSecond, m.bareFlat.perSecond, 0.9),
    atLeast(
      '(e) drain / raw single-row inserts',
      m.drain.confirmedPerSecond,
      m.rawInsertsPerSecond,
      0.5,
    ),
    atMost(
      '(d) p99 accepted @2k / bare @2k',
      m.acceptedAt2k.latencyMs.p99,
      m.bareAt2k.latencyMs.p99,
      5,
    ),
    atMost(
      '(d) p99 sold out @10k / bare @10k',
      m.soldOutAt10k.latencyMs.p99,
      m.bareAt10k.latencyMs.p99,
      2,
    ),
    ...overloadTargets(m.overload),
    ...roomTargets(m.waitingRoom),
    ...(m.wrk
      ? [
          atLeast(
            '(g) wrk sold out / bare route',
            m.wrk.soldOut.perSecond,
            m.wrk.bare.perSecond,
            0.9,
          ),
        ]
      : []),
    {
      name: '(f) last confirmed after last 202 (ms)',
      measured: m.sellout.confirmedAfterLastAcceptedMs,
      against: 2000,
      ratio: round(m.sellout.confirmedAfterLastAcceptedMs / 2000),
      target: '<= 2000 ms',
      met: m.sellout.confirmedAfterLastAcceptedMs <= 2000,
    },
  ];
}

function overloadTargets(o: OverloadResult): Target[] {
  const capacityP99 = o.capacity.accepted.p99 ?? NaN;
  const shedP99 = o.overload.shed.p99;
  return [
    {
      name: '(h) goodput at 3x / capacity',
      measured: o.overload.perSecond,
      against: o.capacity.perSecond,
      ratio: round(o.overload.perSecond / o.capacity.perSecond),
      target: '>= 0.9x',
      met: o.overload.perSecond >= 0.9 * o.capacity.perSecond,
    },
    {
      name: '(h) p99 of 202 at 3x / at capacity',
      measured: o.overload.accepted.p99 ?? NaN,
      against: capacityP99,
      ratio: round((o.overload.accepted.p99 ?? NaN) / capacityP99),
      target: '<= 3x',
      met: (o.overload.accepted.p99 ?? Infinity) <= 3 * capacityP99,
    },
    {
      name: '(h) p99 of 503 at 3x (ms)',
      measured: shedP99 ?? 0,
      against: 10,
      ratio: round((shedP99 ?? 0) / 10),
      target: '<= 10 ms',
      met: (shedP99 ?? 0) <= 10,
    },
    {
      name: '(h) shed at capacity, paced (503s)',
      measured: o.atCapacity.shed,
      against: 0,
      ratio: o.atCapacity.shed,
      target: '0',
      met: o.atCapacity.shed === 0,
    },
  ];
}

// bench/README.md, "npm run bench:room": the room's targets, here on its quick size.
function roomTargets(r: RoomBenchResult): Target[] {
  const ratio = (
    name: string,
    measured: number,
    against: number,
    target: string,
    met: boolean,
  ): Target => ({ name, measured, against, ratio: round(measured / against), target, met });
  const p99 = r.crowd.serverP99Ms ?? NaN;
  const halfP99 = r.reference.serverP99Ms ?? NaN;
  return [
    ratio(
      '(i) room join / bare route',
      r.join.perSecond,
      r.bare.joinPerSecond,
      '>= 0.5x',
      r.ratios.joinVsBare >= 0.5,
    ),
    ratio(
      '(i) room join CPU: bare route / join',
      r.bare.joinCpuUsPerAnswer,
      r.join.cpuUsPerAnswer,
      '>= 0.5x',
      r.ratios.joinCpuVsBare >= 0.5,
    ),
    ratio(
      '(i) room poll / bare route',
      r.poll.perSecond,
      r.bare.pollPerSecond,
      '>= 0.8x',
      r.ratios.pollVsBare >= 0.8,
    ),
    // The same target by CPU per answer (bare route's µs over the poll's): steadier than
    // answers per second on a shared machine.
    ratio(
      '(i) room poll CPU: bare route / poll',
      r.bare.pollCpuUsPerAnswer,
      r.poll.cpuUsPerAnswer,
      '>= 0.8x',
      r.ratios.pollCpuVsBare >= 0.8,
    ),
    ratio(
      '(i) Redis bytes per place',
      r.redisBytesPerPlace,
      150,
      '<= 150',
      r.redisBytesPerPlace <= 150,
    ),
    ratio(
      '(i) 503s on admitted purchases',
      r.ratios.purchase503s,
      1,
      '0',
      r.ratios.purchase503s === 0,
    ),
    ratio('(i) p99 admitted / half capacity', p99, halfP99, '<= 2x', p99 <= 2 * halfP99),
  ];
}
