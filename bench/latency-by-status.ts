// Per-request latency kept by status, so the p99 of the 202s and of the 503s of one run are
// each their own (autocannon's histogram mixes every status). Each sample also keeps when it
// was sent, so the first moments of a run (every connection opening at once) can be set apart
// from the steady state.
export class LatencyByStatus {
  private readonly samples = new Map<number, { ms: number[]; sentAt: number[] }>();

  readonly record = (status: number, ms: number): void => {
    let list = this.samples.get(status);
    if (!list) this.samples.set(status, (list = { ms: [], sentAt: [] }));
    list.ms.push(ms);
    list.sentAt.push(performance.now() - ms);
  };

  count(status: number): number {
    return this.samples.get(status)?.ms.length ?? 0;
  }

  // The q-quantile (0..1) of this status's latencies in ms, or null without any.
  quantile(status: number, q: number): number | null {
    return quantileOf(this.samples.get(status)?.ms ?? [], q);
  }

  summary(status: number) {
    return summarize(this.samples.get(status)?.ms ?? []);
  }

  // The same summary over the requests sent `skipMs` or more after the run's first request.
  summaryAfter(status: number, skipMs: number) {
    let first = Infinity;
    for (const { sentAt } of this.samples.values()) {
      for (const at of sentAt) if (at < first) first = at;
    }
    const list = this.samples.get(status);
    if (!list) return summarize([]);
    return summarize(list.ms.filter((_, i) => list.sentAt[i]! >= first + skipMs));
  }
}

function quantileOf(list: readonly number[], q: number): number | null {
  if (list.length === 0) return null;
  const sorted = Float64Array.from(list).sort();
  const index = Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1);
  return Math.round(sorted[Math.max(0, index)]! * 10) / 10;
}

function summarize(list: readonly number[]) {
  return {
    count: list.length,
    p50: quantileOf(list, 0.5),
    p90: quantileOf(list, 0.9),
    p99: quantileOf(list, 0.99),
    max: quantileOf(list, 1),
  };
}
