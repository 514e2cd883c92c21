// Quantiles of a Prometheus histogram between two scrapes of /metrics, from its cumulative
// buckets: each quantile is reported as the upper bound of the bucket it falls in.
export type Buckets = Map<number, number>;

export async function scrapeBuckets(metricsUrl: string, name: string): Promise<Buckets> {
  const text = await (await fetch(metricsUrl)).text();
  const buckets: Buckets = new Map();
  const pattern = new RegExp(`^${name}_bucket\\{[^}]*le="([^"]+)"[^}]*\\} (\\S+)$`, 'gm');
  for (const match of text.matchAll(pattern)) {
    const le = match[1] === '+Inf' ? Infinity : Number(match[1]);
    buckets.set(le, (buckets.get(le) ?? 0) + Number(match[2]));
  }
  return buckets;
}

export function quantilesBetween(before: Buckets, after: Buckets, quantiles: number[]) {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const counts = bounds.map((le) => (after.get(le) ?? 0) - (before.get(le) ?? 0));
  const total = counts[counts.length - 1] ?? 0;
  return quantiles.map((q) => {
    const index = counts.findIndex((count) => count >= q * total);
    return total === 0 || index < 0 ? null : bounds[index]!;
  });
}

// The API's event-loop delay since its metrics were last scraped (prom-client's monitor starts
// over at each scrape), in ms: whether a slow purchase waited for the loop or for something
// after it (Redis, RabbitMQ's confirm). The first API process's: they all serve alike.
export async function eventLoopLag(metrics: string[]) {
  const text = await (await fetch(metrics[0]!)).text();
  const read = (q: string) => {
    const pattern = new RegExp(`^nodejs_eventloop_lag_${q}_seconds(?:\\{[^}]*\\})? (\\S+)$`, 'm');
    return Math.round(Number(pattern.exec(text)?.[1] ?? NaN) * 1000);
  };
  return { p99Ms: read('p99'), maxMs: read('max') };
}
