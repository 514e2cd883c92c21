import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

// One registry per process (and per in-process test instance), with Node's default metrics.
export function createRegistry(processName: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ process: processName });
  collectDefaultMetrics({ register: registry });
  return registry;
}

// Fine enough below 10 ms, where a healthy gate answers.
const latencyBuckets = [
  0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
];

export type GateOutcomeLabel =
  | 'reserved'
  | 'sold_out'
  | 'limit_reached'
  | 'rate_limited'
  | 'unavailable'
  | 'replayed'
  | 'not_found'
  | 'not_started'
  | 'ended'
  // Over the admission limit (src/api/admission/).
  | 'shed';

export function apiMetrics(registry: Registry) {
  return {
    httpRequests: new Counter({
      name: 'flashline_http_requests_total',
      help: 'HTTP requests answered, by route, method and status',
      labelNames: ['route', 'method', 'status'],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'flashline_http_request_duration_seconds',
      help: 'HTTP request duration, by route, method and status',
      labelNames: ['route', 'method', 'status'],
      buckets: latencyBuckets,
      registers: [registry],
    }),
    httpServerErrors: new Counter({
      name: 'flashline_http_server_errors_total',
      help: 'Requests answered 5xx because of an unexpected error, by route',
      labelNames: ['route'],
      registers: [registry],
    }),
    gateOutcomes: new Counter({
      name: 'flashline_gate_outcomes_total',
      help: 'Purchase decisions at the gate, by outcome',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    saleCacheAnswers: new Counter({
      name: 'flashline_sale_cache_answers_total',
      help: 'Purchases refused from the local sold-out cache without Redis, by outcome',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    pollFrontAnswers: new Counter({
      name: 'flashline_room_polls_front_total',
      help: 'Waiting-room polls answered from memory before the app (src/api/poll-front.ts)',
      registers: [registry],
    }),
    joinFrontAnswers: new Counter({
      name: 'flashline_room_joins_front_total',
      help: 'Waiting-room joins taken before the app (src/api/join-front.ts)',
      registers: [registry],
    }),
    publishConfirm: new Histogram({
      name: 'flashline_publish_confirm_duration_seconds',
      help: 'Time from publishing an order to the broker confirming it',
      buckets: latencyBuckets,
      registers: [registry],
    }),
  };
}
export type ApiMetrics = ReturnType<typeof apiMetrics>;

// Scrapes of a thousand sales stay cheap and the series count bounded; the newest sales win.
export const maxSalesSampled = 1000;

// A Redis that stalls (the moment an operator most needs /metrics) leaves this gauge empty
// instead of holding the whole scrape.
const sampleTimeoutMs = 1_000;
function withinScrape<T>(work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('sale remaining sample timed out')), sampleTimeoutMs);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

// Remaining units of each shard of each sale over shards (docs/sharded-sales.md): a shard
// stuck empty while others are not, or one full while the sale is said to be sold out, shows.
export function saleShardRemainingGauge(
  registry: Registry,
  sample: () => Promise<ReadonlyMap<number, readonly (number | null)[]>>,
): Gauge<'sale' | 'shard'> {
  return new Gauge({
    name: 'flashline_sale_shard_remaining_units',
    help: 'Units each shard of a sale over shards can still give, sampled at scrape',
    labelNames: ['sale', 'shard'],
    registers: [registry],
    aggregator: 'max',
    async collect() {
      this.reset();
      const bySale = await withinScrape(sample()).catch(() => new Map<number, number[]>());
      for (const [sale, shards] of bySale) {
        shards.forEach((units, shard) => {
          if (units !== null) this.set({ sale: String(sale), shard: String(shard) }, units);
        });
      }
    },
  });
}

// Remaining stock of each sale the gate knows, read from Redis when Prometheus scrapes.
// A failed read leaves the gauge empty for that scrape instead of failing /metrics.
export function saleRemainingGauge(
  registry: Registry,
  sample: () => Promise<ReadonlyMap<number, number>>,
): Gauge<'sale'> {
  return new Gauge({
    name: 'flashline_sale_remaining_units',
    help: 'Units the gate can still reserve, per sale, sampled at scrape',
    labelNames: ['sale'],
    registers: [registry],
    // Every API process reads the same Redis: summed over a cluster it would count N times.
    aggregator: 'max',
    async collect() {
      this.reset();
      const remaining = await withinScrape(sample()).catch(() => new Map<number, number>());
      for (const [sale, units] of remaining) this.set({ sale: String(sale) }, units);
    },
  });
}
