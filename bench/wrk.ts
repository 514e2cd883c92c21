import { execFile, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

// wrk (Debian package `wrk`): a C load generator, far cheaper per request than autocannon, so
// the figures are the server's rather than the generator's. Absent, the wrk mode is skipped.
export function wrkAvailable(): boolean {
  const probe = spawnSync('wrk', ['--version'], { stdio: 'ignore' });
  return !(probe.error && (probe.error as NodeJS.ErrnoException).code === 'ENOENT');
}

export type WrkResult = {
  perSecond: number;
  requests: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number };
  // Milliseconds the target process spent runnable but waiting for a CPU, per second of the
  // run (/proc/<pid>/schedstat): the share of the tail that is the machine, not the code.
  runQueueMsPerSecond: number | null;
  // Share of the run during which some task on the machine waited for a CPU (Linux PSI,
  // /proc/pressure/cpu "some"): how oversubscribed the two cores were.
  machineCpuPressure: number | null;
  // The server's own event-loop delay during the run (prom-client's histogram, which each
  // scrape resets) and its GC pauses: what of the tail happened inside the process.
  server: { loopDelayP99Ms: number; loopDelayMaxMs: number; gcMsPerSecond: number } | null;
};

const script = `wrk.method = "POST"
wrk.body = '{"quantity":1}'
wrk.headers["content-type"] = "application/json"
wrk.headers["authorization"] = os.getenv("WRK_AUTHORIZATION")
`;

function scriptFile(): string {
  const file = path.join(tmpdir(), 'flashline-bench-wrk.lua');
  writeFileSync(file, script);
  return file;
}

function runQueueNs(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]);
  } catch {
    return null;
  }
}

function cpuPressureUs(): number | null {
  try {
    const some = /some .* total=(\d+)/.exec(readFileSync('/proc/pressure/cpu', 'utf8'));
    return some ? Number(some[1]) : null;
  } catch {
    return null;
  }
}

async function scrape(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(url)).text();
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match =
      /^(nodejs_eventloop_lag_(?:p99|max)_seconds|nodejs_gc_duration_seconds_sum)(?:\{[^}]*\})? (\S+)$/.exec(
        line,
      );
    if (match) values.set(match[1]!, (values.get(match[1]!) ?? 0) + Number(match[2]));
  }
  return values;
}

const toMs = (value: string, unit: string) =>
  Number(value) * (unit === 'us' ? 0.001 : unit === 's' ? 1000 : 1);

// One wrk run (2 threads, as in the issue); `pid` is the server's, for its run-queue wait.
export async function wrk(
  url: string,
  options: {
    connections: number;
    seconds: number;
    authorization: string;
    pid?: number | undefined;
    metricsUrl?: string | undefined;
  },
): Promise<WrkResult> {
  const metricsBefore = options.metricsUrl ? await scrape(options.metricsUrl) : null;
  const before = runQueueNs(options.pid);
  const pressureBefore = cpuPressureUs();
  const started = performance.now();
  const { stdout } = await run(
    'wrk',
    [
      '-t2',
      `-c${options.connections}`,
      `-d${options.seconds}s`,
      '--latency',
      '-s',
      scriptFile(),
      url,
    ],
    { env: { ...process.env, WRK_AUTHORIZATION: options.authorization } },
  );
  const seconds = (performance.now() - started) / 1000;
  const after = runQueueNs(options.pid);
  const pressureAfter = cpuPressureUs();
  const metricsAfter = options.metricsUrl ? await scrape(options.metricsUrl) : null;
  const gcSeconds = (m: Map<string, number> | null) =>
    m?.get('nodejs_gc_duration_seconds_sum') ?? 0;
  const quantile = (label: string) => {
    const match = new RegExp(`^\\s+${label}%\\s+([\\d.]+)(us|ms|s)$`, 'm').exec(stdout);
    return match ? Math.round(toMs(match[1]!, match[2]!) * 10) / 10 : NaN;
  };
  const max = /Latency\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)/.exec(stdout);
  return {
    perSecond: Math.round(Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1] ?? NaN)),
    requests: Number(/(\d+) requests in/.exec(stdout)?.[1] ?? NaN),
    latencyMs: {
      p50: quantile('50'),
      p90: quantile('90'),
      p99: quantile('99'),
      max: max ? Math.round(toMs(max[1]!, max[2]!)) : NaN,
    },
    runQueueMsPerSecond:
      before === null || after === null ? null : Math.round((after - before) / 1e6 / seconds),
    machineCpuPressure:
      pressureBefore === null || pressureAfter === null
        ? null
        : Math.round(((pressureAfter - pressureBefore) / 1e6 / seconds) * 100) / 100,
    server: metricsAfter
      ? {
          loopDelayP99Ms: Math.round(
            (metricsAfter.get('nodejs_eventloop_lag_p99_seconds') ?? 0) * 1000,
          ),
          loopDelayMaxMs: Math.round(
            (metricsAfter.get('nodejs_eventloop_lag_max_seconds') ?? 0) * 1000,
          ),
          gcMsPerSecond: Math.round(
            ((gcSeconds(metricsAfter) - gcSeconds(metricsBefore)) * 1000) / seconds,
          ),
        }
      : null,
  };
}
