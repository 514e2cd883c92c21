import type { Latency } from './load.js';

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
