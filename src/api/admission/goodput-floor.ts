// The concurrency at which this process last delivered its best goodput: a floor under the
// latency gradient (and the CPU rule), after BBR's rule that in flight must not fall below the
// bandwidth-delay product (Cardwell et al., "BBR: Congestion-Based Congestion Control", 2016).
//
// Why a floor: Gradient2 assumes a latency rise comes from the queue of requests it let in. On
// an API answering a crowd, much of it does not: the loop also parses and refuses every request
// over the limit, and shares the machine's cores. Cutting the limit then does not bring the
// latency down, only the goodput, and the next window cuts again (bench/README.md, "Overload":
// the limit fell from ~280 to ~25 and goodput to 0.36x capacity). This order path also needs
// concurrency to be fast: the gate's calls and the publishes are batched, so fewer in flight
// means smaller batches, not quicker answers.
//
// The floor is measured, not configured: each window's mean concurrency comes from Little's law
// (rate of completions times their mean latency); over the last `memoryWindows` windows, the
// smallest concurrency that delivered at least `nearBest` of the best rate is the floor. A
// smaller concurrency did not deliver as much; a larger one only queued. The memory lets the
// floor follow a capacity that really fell (a slower Redis): after it, the best window is one
// of the slower ones.
export class GoodputFloor {
  private readonly rates: number[] = [];
  private readonly concurrencies: number[] = [];

  constructor(
    private readonly memoryWindows: number,
    private readonly nearBest = 0.9,
  ) {}

  // One window: completions per second and their mean latency (ms).
  record(ratePerSecond: number, meanRttMs: number): void {
    if (this.memoryWindows <= 0) return;
    this.rates.push(ratePerSecond);
    this.concurrencies.push((ratePerSecond * meanRttMs) / 1000);
    if (this.rates.length > this.memoryWindows) {
      this.rates.shift();
      this.concurrencies.shift();
    }
  }

  // Forget what was learnt: a memory rule (heap, RSS) must be free to cut below it.
  reset(): void {
    this.rates.length = 0;
    this.concurrencies.length = 0;
  }

  get value(): number {
    const best = Math.max(0, ...this.rates);
    if (best <= 0) return 0;
    let floor = Infinity;
    for (let i = 0; i < this.rates.length; i++) {
      if (this.rates[i]! >= best * this.nearBest) floor = Math.min(floor, this.concurrencies[i]!);
    }
    return floor;
  }
}
