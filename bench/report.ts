import type { Latency } from './load.js';
import { goodputBound, type OverloadResult } from './overload.js';
import type { WrkResult } from './wrk.js';

type Summary = {
  perSecond: number;
  answeredPerSecond: number;
  byStatus: Record<string, number>;
  errors: number;
  latencyMs: Latency;
};

export type Report = {
  date: string;
  quick: boolean;
  // Cores each process used during a measure (1 = one core all the time).
  cpuCores: Record<string, Record<string, number>>;
  settings: Record<string, string>;
  machine: Record<string, unknown>;
  measures: {
    bareFlat: Summary;
    rawPublishesPerSecond: number;
    acceptedFlat: Summary;
    soldOutFlat: Summary;
    drain: { orders: number; confirmedPerSecond: number };
    rawInsertsPerSecond: number;
    bareAt2k: Summary;
    acceptedAt2k: Summary & {
      publishConfirmMs: { p50AtMost: number | null; p99AtMost: number | null };
    };
    bareAt10k: Summary;
    soldOutAt10k: Summary;
    overload: OverloadResult;
    // null when wrk is not installed.
    wrk: { bare: WrkResult; soldOut: WrkResult } | null;
    sellout: {
      stock: number;
      buyers: number;
      accepted: number;
      byStatus: Record<string, number>;
      lastAcceptedMs: number;
      allConfirmedMs: number;
      confirmedAfterLastAcceptedMs: number;
    };
  };
  targets?: Target[];
};

export type Target = {
  name: string;
  measured: number;
  against: number;
  ratio: number;
  target: string;
  met: boolean;
};

const ms = (latency: Latency) => `p50 ${latency.p50} / p90 ${latency.p90} / p99 ${latency.p99} ms`;
const statuses = (s: Summary) =>
  Object.entries(s.byStatus)
    .map(([status, count]) => `${status}:${count}`)
    .join(' ') + (s.errors ? ` errors:${s.errors}` : '');
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

const byStatusMs = (s: { count: number; p50: number | null; p99: number | null }) =>
  `${s.count} answers, p50 ${s.p50 ?? '-'} / p99 ${s.p99 ?? '-'} ms`;
const wrkMs = (w: WrkResult) =>
  `p50 ${w.latencyMs.p50} / p90 ${w.latencyMs.p90} / p99 ${w.latencyMs.p99} / max ${w.latencyMs.max} ms` +
  (w.runQueueMsPerSecond === null ? '' : `; waited for a CPU ${w.runQueueMsPerSecond} ms/s`) +
  (w.machineCpuPressure === null ? '' : `; machine CPU pressure ${w.machineCpuPressure}`) +
  (w.server
    ? `; its loop delay p99 ${w.server.loopDelayP99Ms} / max ${w.server.loopDelayMaxMs} ms, GC ${w.server.gcMsPerSecond} ms/s`
    : '');

export function printReport(report: Report, log: (line: string) => void): void {
  const m = report.measures;
  const rows: [string, string, string][] = [
    ['(a)  bare Hono route, 200 conns', `${m.bareFlat.perSecond}/s`, ms(m.bareFlat.latencyMs)],
    ["(a') raw confirmed publishes, 200 in flight", `${m.rawPublishesPerSecond}/s`, ''],
    [
      '(b)  purchase accepted, 200 conns',
      `${m.acceptedFlat.perSecond} 202/s`,
      `${ms(m.acceptedFlat.latencyMs)}  ${statuses(m.acceptedFlat)}`,
    ],
    [
      '(c)  purchase sold out, 200 conns',
      `${m.soldOutFlat.perSecond} 409/s`,
      `${ms(m.soldOutFlat.latencyMs)}  ${statuses(m.soldOutFlat)}`,
    ],
    ['(d)  bare route @2,000/s', `${m.bareAt2k.answeredPerSecond}/s`, ms(m.bareAt2k.latencyMs)],
    [
      '(d)  accepted @2,000/s',
      `${m.acceptedAt2k.answeredPerSecond}/s`,
      `${ms(m.acceptedAt2k.latencyMs)}  ${statuses(m.acceptedAt2k)}`,
    ],
    ['(d)  bare route @10,000/s', `${m.bareAt10k.answeredPerSecond}/s`, ms(m.bareAt10k.latencyMs)],
    [
      '(d)  sold out @10,000/s',
      `${m.soldOutAt10k.answeredPerSecond}/s`,
      `${ms(m.soldOutAt10k.latencyMs)}  ${statuses(m.soldOutAt10k)}`,
    ],
    ['(e)  drain, orders confirmed', `${m.drain.confirmedPerSecond}/s`, `${m.drain.orders} orders`],
    ['(e)  raw single-row INSERTs', `${m.rawInsertsPerSecond}/s`, ''],
    [
      '(h)  accepted flat out, 200 conns, admission off (capacity)',
      `${m.overload.capacity.perSecond} 202/s`,
      `202: ${byStatusMs(m.overload.capacity.accepted)}; 503: ${m.overload.capacity.shed}`,
    ],
    [
      '(h)  accepted flat out, 200 conns, admission on',
      `${m.overload.flatOutLimited.perSecond} 202/s`,
      `202: ${byStatusMs(m.overload.flatOutLimited.accepted)}; ${m.overload.flatOutLimited.shedPerSecond} 503/s (retried at once)`,
    ],
    [
      '(h)  accepted paced at capacity',
      `${m.overload.atCapacity.perSecond} 202/s`,
      `202: ${byStatusMs(m.overload.atCapacity.accepted)}; 503: ${m.overload.atCapacity.shed}`,
    ],
    [
      `(h)  accepted at 3x (${m.overload.overload.offered}/s offered, 1,000 conns)`,
      `${m.overload.overload.perSecond} 202/s`,
      `202: ${byStatusMs(m.overload.overload.accepted)}; 503: ${byStatusMs(m.overload.overload.shed)}`,
    ],
    [
      '(h)  the same after its first second (connections open)',
      '',
      `202: ${byStatusMs(m.overload.overload.steady.accepted)}; 503: ${byStatusMs(m.overload.overload.steady.shed)}`,
    ],
    ...(m.overload.overload.probe
      ? ([
          [
            '(h)  one more buyer at 3x, own process, every 20 ms',
            '',
            `202: ${byStatusMs(m.overload.overload.probe[202])}; 503: ${byStatusMs(m.overload.overload.probe[503])}`,
          ],
        ] as [string, string, string][])
      : []),
    ...((bound) =>
      bound
        ? ([
            [
              '(h)  goodput the machine leaves at 3x (if a 503 were free)',
              `<= ${bound.goodputRatioBound}x`,
              `load generator ${bound.loadGeneratorCores.capacity} -> ${bound.loadGeneratorCores.at3x} cores; system ${bound.systemCoresAtCapacity} -> at most ${bound.systemCoresLeftAt3x} of ${bound.machineCores}`,
            ],
          ] as [string, string, string][])
        : [])(goodputBound(m.overload)),
    ...(m.wrk
      ? ([
          ['(g)  wrk bare route, 200 conns', `${m.wrk.bare.perSecond}/s`, wrkMs(m.wrk.bare)],
          [
            '(g)  wrk sold out, 200 conns',
            `${m.wrk.soldOut.perSecond} 409/s`,
            wrkMs(m.wrk.soldOut),
          ],
        ] as [string, string, string][])
      : [['(g)  wrk', 'skipped', 'wrk is not installed'] as [string, string, string]]),
    [
      `(f)  sell-out ${m.sellout.stock} units / ${m.sellout.buyers} buyers`,
      `last 202 at ${m.sellout.lastAcceptedMs} ms`,
      `all confirmed at ${m.sellout.allConfirmedMs} ms (${m.sellout.accepted} accepted)`,
    ],
  ];
  const targets = targetsOf(report);
  report.targets = targets;
  const width = Math.max(...rows.map(([name]) => name.length));
  log('');
  log(
    `measures (${report.date}, ${String(report.machine.cpus)} cpus, ${String(report.machine.cpuModel)})`,
  );
  for (const [name, value, detail] of rows)
    log(`  ${name.padEnd(width)}  ${value.padStart(22)}  ${detail}`);
  log('');
  log('cores used during each measure (the machine has ' + String(report.machine.cpus) + ')');
  for (const [measure, cores] of Object.entries(report.cpuCores)) {
    const used = Object.entries(cores)
      .filter(([, n]) => n >= 0.01)
      .sort((a, b) => b[1] - a[1])
      .map(([name, n]) => `${name} ${n.toFixed(2)}`)
      .join(', ');
    log(`  ${measure.padEnd(20)} ${used}`);
  }
  log('');
  log('targets');
  const nameWidth = Math.max(...targets.map((t) => t.name.length));
  for (const t of targets) {
    log(
      `  ${t.name.padEnd(nameWidth)}  ${String(t.measured).padStart(8)} vs ${String(t.against).padStart(8)}  = ${String(t.ratio).padStart(6)}  target ${t.target.padEnd(10)} ${t.met ? 'met' : 'MISSED'}`,
    );
  }
  log('');
}
