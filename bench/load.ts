import { setTimeout as sleep } from 'node:timers/promises';
import type { EventEmitter } from 'node:events';
import autocannon from 'autocannon';

export type Latency = { p50: number; p90: number; p99: number; max: number };

export type LoadResult = {
  seconds: number;
  requests: number;
  byStatus: Record<string, number>;
  // Answers per second with this status (or all answers when status is omitted).
  rate: (status?: number) => number;
  latency: Latency;
  errors: number;
};

export type LoadSpec = {
  // Several base URLs (one per API process) share the connections round-robin.
  baseUrl: string | string[];
  path: string;
  // Buyer tokens. Rotated on every request when `rotate`, else one per connection.
  tokens: readonly string[];
  rotate: boolean;
  connections: number;
  seconds?: number;
  amount?: number;
  // Offered rate over all connections (autocannon overallRate); flat out when omitted.
  overallRate?: number;
  onResponse?: (status: number) => void;
  // Every answer's own latency (ms, autocannon's response time), for quantiles by status.
  onLatency?: (status: number, ms: number) => void;
};

const headers = { 'content-type': 'application/json' };
const body = JSON.stringify({ quantity: 1 });

// autocannon paces a rate per connection and per wall-clock second: each connection sends
// its quota back to back when the second starts, so all connections burst together. To
// offer a rate closer to constant, a fixed-rate load runs as `slots` autocannon instances
// started 1/slots of a second apart, each with 1/slots of the rate and connections.
const rateSlots = 10;

// The measure (d): `rate` requests a second for `seconds`, on one connection per 10 requests a
// second, at most `maxConnections` (run.ts and steady.ts measure it the same way).
export function loadAtRate(
  spec: Pick<LoadSpec, 'baseUrl' | 'path' | 'tokens' | 'rotate' | 'onLatency'>,
  rate: number,
  seconds: number,
  maxConnections = 200,
): Promise<LoadResult> {
  return load({
    ...spec,
    // Whole connections, at least one: a low rate (a loaded machine's half capacity) still runs.
    connections: Math.max(1, Math.min(maxConnections, Math.round(rate / 10))),
    seconds,
    overallRate: rate,
  });
}

export async function load(spec: LoadSpec): Promise<LoadResult> {
  let next = 0;
  const authorization = () => `Bearer ${spec.tokens[next++ % spec.tokens.length]}`;
  const request: autocannon.Request = {
    method: 'POST',
    path: spec.path,
    headers: { ...headers, authorization: authorization() },
    body,
  };
  if (spec.rotate) {
    request.setupRequest = (req) => ({
      ...req,
      headers: { ...headers, authorization: authorization() },
    });
  }
  const onResponse = spec.onResponse;
  if (onResponse) request.onResponse = (status: number) => onResponse(status);

  const slots = spec.overallRate ? Math.min(rateSlots, spec.connections) : 1;
  const share = (total: number, i: number) =>
    Math.floor(total / slots) + (i < total % slots ? 1 : 0);
  const options = (i: number) => ({
    url: spec.baseUrl as string,
    connections: share(spec.connections, i),
    ...(spec.amount ? { amount: spec.amount } : { duration: spec.seconds ?? 10 }),
    // autocannon's coordinated-omission correction assumes a 1 ms interval whatever the
    // rate: it would invent samples for every answer slower than 1 ms. Latency here is what
    // each request took.
    ...(spec.overallRate
      ? { overallRate: share(spec.overallRate, i), ignoreCoordinatedOmission: true }
      : {}),
    requests: [request],
    skipAggregateResult: true,
    ...(spec.rotate
      ? {}
      : {
          setupClient: (client: autocannon.Client) =>
            client.setHeaders({ ...headers, authorization: authorization() }),
        }),
  });
  const runs = await Promise.all(
    Array.from({ length: slots }, async (_, i) => {
      await sleep((i * 1000) / slots);
      // Without a callback autocannon returns its event emitter, made thenable.
      const run = autocannon(options(i) as autocannon.Options) as unknown as EventEmitter &
        PromiseLike<autocannon.Result>;
      const onLatency = spec.onLatency;
      if (onLatency) {
        run.on('response', (_client: unknown, status: number, _bytes: number, ms: number) =>
          onLatency(status, ms),
        );
      }
      return run;
    }),
  );
  const result = aggregate(runs, { url: spec.baseUrl as string, connections: spec.connections });
  const byStatus: Record<string, number> = {};
  for (const [status, stat] of Object.entries(result.statusCodeStats ?? {})) {
    byStatus[status] = stat.count ?? 0;
  }
  const seconds = Math.max(...runs.map((run) => run.duration));
  const answered = Object.values(byStatus).reduce((a, b) => a + b, 0);
  return {
    seconds,
    requests: answered,
    byStatus,
    rate: (status) => (status === undefined ? answered : (byStatus[String(status)] ?? 0)) / seconds,
    latency: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      max: result.latency.max,
    },
    errors: runs.reduce((sum, run) => sum + run.errors, 0),
  };
}

// autocannon.aggregateResult merges the raw histograms of runs made with skipAggregateResult;
// @types/autocannon does not declare it.
const aggregate = (
  autocannon as unknown as {
    aggregateResult: (runs: autocannon.Result[], opts: object) => autocannon.Result;
  }
).aggregateResult;
