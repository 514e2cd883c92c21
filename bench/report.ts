import type { Latency } from './load.js';
import { goodputBound, type OverloadResult } from './overload.js';
import { targetsOf } from './targets.js';
import type { WrkResult } from './wrk.js';
import type { RoomBenchResult } from './waiting-room.js';

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
    waitingRoom: RoomBenchResult;
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
const byStatusMs = (s: { count: number; p50: number | null; p99: number | null }) =>
  `${s.count} answers, p50 ${s.p50 ?? '-'} / p99 ${s.p99 ?? '-'} ms`;
const wrkMs = (w: WrkResult) =>
  `p50 ${w.latencyMs.p50} / p90 ${w.latencyMs.p90} / p99 ${w.latencyMs.p99} / max ${w.latencyMs.max} ms` +
  (w.runQueueMsPerSecond === null ? '' : `; waited for a CPU ${w.runQueueMsPerSecond} ms/s`) +
  (w.machineCpuPressure === null ? '' : `; machine CPU pressure ${w.machineCpuPressure}`) +
  (w.server
    ? `; its loop delay p99 ${w.server.loopDelayP99Ms} / max ${w.server.loopDelayMaxMs} ms, GC ${w.server.gcMsPerSecond} ms/s`
    : '');

type Row = [string, string, string];

function measureRows(m: Report['measures']): Row[] {
  return [
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
  ];
}

function overloadRows(o: OverloadResult): Row[] {
  return [
    [
      '(h)  accepted flat out, 200 conns, admission off (capacity)',
      `${o.capacity.perSecond} 202/s`,
      `202: ${byStatusMs(o.capacity.accepted)}; 503: ${o.capacity.shed}`,
    ],
    [
      '(h)  accepted flat out, 200 conns, admission on',
      `${o.flatOutLimited.perSecond} 202/s`,
      `202: ${byStatusMs(o.flatOutLimited.accepted)}; ${o.flatOutLimited.shedPerSecond} 503/s (retried at once)`,
    ],
    [
      '(h)  accepted paced at capacity',
      `${o.atCapacity.perSecond} 202/s`,
      `202: ${byStatusMs(o.atCapacity.accepted)}; 503: ${o.atCapacity.shed}`,
    ],
    [
      `(h)  accepted at 3x (${o.overload.offered}/s offered, 1,000 conns)`,
      `${o.overload.perSecond} 202/s`,
      `202: ${byStatusMs(o.overload.accepted)}; 503: ${byStatusMs(o.overload.shed)}`,
    ],
    [
      '(h)  the same after its first second (connections open)',
      '',
      `202: ${byStatusMs(o.overload.steady.accepted)}; 503: ${byStatusMs(o.overload.steady.shed)}`,
    ],
    ...(o.overload.probe
      ? ([
          [
            '(h)  one more buyer at 3x, own process, every 20 ms',
            '',
            `202: ${byStatusMs(o.overload.probe[202])}; 503: ${byStatusMs(o.overload.probe[503])}`,
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
        : [])(goodputBound(o)),
  ];
}

function wrkRows(w: Report['measures']['wrk']): Row[] {
  if (!w) return [['(g)  wrk', 'skipped', 'wrk is not installed']];
  return [
    ['(g)  wrk bare route, 200 conns', `${w.bare.perSecond}/s`, wrkMs(w.bare)],
    ['(g)  wrk sold out, 200 conns', `${w.soldOut.perSecond} 409/s`, wrkMs(w.soldOut)],
  ];
}

function roomRow(r: RoomBenchResult): Row {
  return [
    `(i)  waiting room ${r.stock} units / ${r.buyers} buyers`,
    `last 202 at ${r.crowd.roomSelloutMs} ms`,
    `without a room ${r.withoutRoom.lastAcceptedMs} ms; join ${r.join.perSecond}/s, poll ${r.poll.perSecond}/s (${r.poll.cpuUsPerAnswer} µs CPU, bare ${r.bare.pollCpuUsPerAnswer})`,
  ];
}

export function printReport(report: Report, log: (line: string) => void): void {
  const m = report.measures;
  const rows: Row[] = [
    ...measureRows(m),
    ...overloadRows(m.overload),
    ...wrkRows(m.wrk),
    [
      `(f)  sell-out ${m.sellout.stock} units / ${m.sellout.buyers} buyers`,
      `last 202 at ${m.sellout.lastAcceptedMs} ms`,
      `all confirmed at ${m.sellout.allConfirmedMs} ms (${m.sellout.accepted} accepted)`,
    ],
    roomRow(m.waitingRoom),
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
  printCores(report, log);
  printTargets(targets, log);
}

function printCores(report: Report, log: (line: string) => void): void {
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
}

function printTargets(targets: Target[], log: (line: string) => void): void {
  log('targets');
  const nameWidth = Math.max(...targets.map((t) => t.name.length));
  for (const t of targets) {
    log(
      `  ${t.name.padEnd(nameWidth)}  ${String(t.measured).padStart(8)} vs ${String(t.against).padStart(8)}  = ${String(t.ratio).padStart(6)}  target ${t.target.padEnd(10)} ${t.met ? 'met' : 'MISSED'}`,
    );
  }
  log('');
}
