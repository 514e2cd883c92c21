// ROOM_CROWD_METRICS=<file>: the first API process's /metrics read every 250 ms while the crowd
// buys (bench/waiting-room.ts), written as one row per interval. A slow purchase of the crowd
// is then placed beside what the API was doing at that moment: its CPU, its event-loop delay,
// its GC, RabbitMQ's confirms and the purchases' own time, where the whole run's p99 says only
// that some were slow.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

type Row = {
  atMs: number;
  cpuMs: number;
  gcMs: number;
  loopMaxMs: number;
  purchases: number;
  purchaseOver50ms: number;
  confirms: number;
  confirmOver50ms: number;
  polls: number;
  // The room's outflow limit at the read (admissions a second; the run has one room).
  outflowLimit: number;
  // The API's adaptive admission at the read: its limit and purchases in flight. An admitted
  // purchase over the limit counts to the outflow as a shed (src/room/outflow.ts).
  admissionLimit: number;
  inFlight: number;
  // CPU ms of every process on the machine in the interval, by command name (/proc), the
  // busiest first: the crowd's driver, Redis, RabbitMQ and PostgreSQL share the two cores.
  machine: Record<string, number>;
};

// Clock ticks of CPU by pid, and each pid's command name (the API, bridge and worker are all
// `node`: their pids tell them apart).
function processTicks(): Map<string, number> {
  const ticks = new Map<string, number>();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const name = stat.slice(stat.indexOf('(') + 1, close);
      const fields = stat.slice(close + 2).split(' ');
      ticks.set(`${name}:${pid}`, Number(fields[11]) + Number(fields[12]));
    } catch {
      // gone between the listing and the read
    }
  }
  return ticks;
}

function busiest(before: Map<string, number>, after: Map<string, number>) {
  const byName: Record<string, number> = {};
  for (const [key, t] of after) {
    const ms = (t - (before.get(key) ?? t)) * 10;
    if (ms <= 0) continue;
    const name = /^(node|MainThread):/.test(key) ? key : key.split(':')[0]!;
    byName[name] = (byName[name] ?? 0) + ms;
  }
  return Object.fromEntries(
    Object.entries(byName)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 8),
  );
}

const sum = (text: string, pattern: RegExp) =>
  [...text.matchAll(pattern)].reduce((total, match) => total + Number(match[1]), 0);

function read(text: string) {
  const purchase = (le: string) =>
    sum(
      text,
      new RegExp(
        `^flashline_http_request_duration_seconds_bucket\\{(?=[^}]*route="/sales/:saleId/purchase")(?=[^}]*status="202")(?=[^}]*le="${le}")[^}]*\\} (\\S+)$`,
        'gm',
      ),
    );
  const confirm = (le: string) =>
    sum(
      text,
      new RegExp(
        `^flashline_publish_confirm_duration_seconds_bucket\\{(?=[^}]*le="${le}")[^}]*\\} (\\S+)$`,
        'gm',
      ),
    );
  const polls = sum(
    text,
    /^flashline_http_requests_total\{(?=[^}]*route="\/sales\/:saleId\/queue")[^}]*\} (\S+)$/gm,
  );
  return {
    cpu: sum(text, /^process_cpu_seconds_total(?:\{[^}]*\})? (\S+)$/gm),
    gc: sum(text, /^nodejs_gc_duration_seconds_sum(?:\{[^}]*\})? (\S+)$/gm),
    loopMax: sum(text, /^nodejs_eventloop_lag_max_seconds(?:\{[^}]*\})? (\S+)$/gm),
    purchases: purchase('\\+Inf'),
    purchaseFast: purchase('0\\.05'),
    confirms: confirm('\\+Inf'),
    confirmFast: confirm('0\\.05'),
    polls,
    outflowLimit: sum(text, /^flashline_room_outflow_limit(?:\{[^}]*\})? (\S+)$/gm),
    admissionLimit: sum(text, /^flashline_admission_limit(?:\{[^}]*\})? (\S+)$/gm),
    inFlight: sum(text, /^flashline_admission_in_flight(?:\{[^}]*\})? (\S+)$/gm),
  };
}

// Starts sampling when the variable is set; the function returned stops it and writes the file.
export function sampleCrowd(metricsUrl: string): () => Promise<void> {
  const file = process.env.ROOM_CROWD_METRICS;
  if (!file) return async () => undefined;
  const rows: Row[] = [];
  const startedAt = performance.now();
  let last: ReturnType<typeof read> | null = null;
  let lastTicks = processTicks();
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const now = read(await (await fetch(metricsUrl)).text());
      const ticks = processTicks();
      if (last) {
        rows.push({
          atMs: Math.round(performance.now() - startedAt),
          cpuMs: Math.round((now.cpu - last.cpu) * 1000),
          gcMs: Math.round((now.gc - last.gc) * 1000),
          loopMaxMs: Math.round(now.loopMax * 1000),
          purchases: now.purchases - last.purchases,
          purchaseOver50ms: now.purchases - now.purchaseFast - (last.purchases - last.purchaseFast),
          confirms: now.confirms - last.confirms,
          confirmOver50ms: now.confirms - now.confirmFast - (last.confirms - last.confirmFast),
          polls: now.polls - last.polls,
          outflowLimit: Math.round(now.outflowLimit),
          admissionLimit: now.admissionLimit,
          inFlight: now.inFlight,
          machine: busiest(lastTicks, ticks),
        });
      }
      last = now;
      lastTicks = ticks;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();
  return async () => {
    stopped = true;
    await loop;
    writeFileSync(file, JSON.stringify(rows));
  };
}
