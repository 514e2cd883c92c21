import type { EventEmitter } from 'node:events';
import autocannon from 'autocannon';
import type { Latency } from './load.js';
import { cpuSecondsOf } from './cpu.js';

export type FlatResult = {
  perSecond: number;
  byStatus: Record<string, number>;
  latencyMs: Latency;
  errors: number;
};

export type RoomLoad = {
  baseUrl: string | string[];
  path: string;
  method: 'GET' | 'POST';
  connections: number;
  seconds?: number;
  amount?: number;
  // The headers of the i-th request (i counts from 0 over the whole run).
  headers: (i: number) => Record<string, string>;
  // Each answer's body with the index of the request it answers.
  onBody?: (i: number, status: number, body: string) => void;
};

type Context = { i?: number };

// Flat out, like bench/load.ts, but each request built from its index (a buyer, a ticket) and
// each answer handed back with it: autocannon keeps one request in flight per connection, so
// the connection's context holds the index of the request being answered.
export async function roomLoad(spec: RoomLoad): Promise<FlatResult> {
  let next = 0;
  let firstAt = 0;
  let lastAt = 0;
  const onBody = spec.onBody;
  const request = {
    method: spec.method,
    path: spec.path,
    setupRequest: (req: autocannon.Request, context: Context) => {
      if (next === 0) firstAt = performance.now();
      context.i = next++;
      return { ...req, headers: spec.headers(context.i) };
    },
    ...(onBody
      ? {
          onResponse: (status: number, body: string, context: Context) =>
            onBody(context.i ?? -1, status, body),
        }
      : {}),
  };
  const run = autocannon({
    url: spec.baseUrl as string,
    connections: spec.connections,
    ...(spec.amount ? { amount: spec.amount } : { duration: spec.seconds ?? 10 }),
    requests: [request as autocannon.Request],
  } as autocannon.Options) as unknown as EventEmitter & PromiseLike<autocannon.Result>;
  run.on('response', () => (lastAt = performance.now()));
  const result = await run;
  const byStatus: Record<string, number> = {};
  for (const [status, stat] of Object.entries(result.statusCodeStats ?? {})) {
    byStatus[status] = stat.count ?? 0;
  }
  const answered = Object.values(byStatus).reduce((a, b) => a + b, 0);
  // A run of `amount` requests ends at autocannon's next one-second tick, and its duration
  // counts to there (10,000 joins in 1.1 s read as 2.02 s): timed from the first request sent
  // to the last answer instead.
  const seconds = lastAt > firstAt ? (lastAt - firstAt) / 1000 : result.duration;
  return {
    perSecond: Math.round(answered / seconds),
    byStatus,
    latencyMs: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
    },
    errors: result.errors,
  };
}

// Quantiles of one route's server-side durations (the API's own histogram) between two
// scrapes: the same instrument for the room's purchases and for the reference load.
export async function routeBuckets(
  metricsUrls: string[],
  route: string,
  status: string,
): Promise<Map<number, number>> {
  const buckets = new Map<number, number>();
  const name = 'flashline_http_request_duration_seconds_bucket';
  for (const url of metricsUrls) {
    const text = await (await fetch(url)).text();
    for (const line of text.split('\n')) {
      if (!line.startsWith(name) || !line.includes(`route="${route}"`)) continue;
      if (!line.includes(`status="${status}"`)) continue;
      const le = /le="([^"]+)"/.exec(line)?.[1];
      if (!le) continue;
      const bound = le === '+Inf' ? Infinity : Number(le);
      buckets.set(bound, (buckets.get(bound) ?? 0) + Number(line.split(' ').pop()));
    }
  }
  return buckets;
}

// Microseconds of the processes' CPU per answer of `run`: on this shared machine a steadier
// comparison than answers per second, which move with whatever else runs. The driver's too
// (this process, where autocannon runs): flat out, it and the server share the two cores, so
// answers per second follow the sum of both.
export async function withCpu(pids: number[], run: () => Promise<FlatResult>) {
  const before = cpuSecondsOf(pids);
  const driverBefore = process.cpuUsage();
  const result = await run();
  const driver = process.cpuUsage(driverBefore);
  const answered = Math.max(
    1,
    Object.values(result.byStatus).reduce((a, b) => a + b, 0),
  );
  const cpuUs = ((cpuSecondsOf(pids) - before) * 1e6) / answered;
  return {
    ...result,
    cpuUsPerAnswer: Math.round(cpuUs),
    driverCpuUsPerAnswer: Math.round((driver.user + driver.system) / answered),
  };
}
