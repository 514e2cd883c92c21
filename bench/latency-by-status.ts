// Per-request latency kept by status, so the p99 of the 202s and of the 503s of one run are
// each their own (autocannon's histogram mixes every status).
export class LatencyByStatus {
  private readonly samples = new Map<number, number[]>();

  readonly record = (status: number, ms: number): void => {
    let list = this.samples.get(status);
    if (!list) this.samples.set(status, (list = []));
    list.push(ms);
  };

  count(status: number): number {
    return this.samples.get(status)?.length ?? 0;
  }

  // The q-quantile (0..1) of this status's latencies in ms, or null without any.
  quantile(status: number, q: number): number | null {
    const list = this.samples.get(status);
    if (!list || list.length === 0) return null;
    const sorted = Float64Array.from(list).sort();
    const index = Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1);
    return Math.round(sorted[Math.max(0, index)]! * 10) / 10;
  }

  summary(status: number) {
    return {
      count: this.count(status),
      p50: this.quantile(status, 0.5),
      p90: this.quantile(status, 0.9),
      p99: this.quantile(status, 0.99),
      max: this.quantile(status, 1),
    };
  }
}
