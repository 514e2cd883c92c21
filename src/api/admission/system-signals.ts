import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';

// What the process's own resources say, one reading per admission window.
export type SystemReading = {
  // The CPU this process used in the window (cores), bounded by the share of it its event
  // loop was busy (0..1): a Node process answers on one core, so a loop busy the whole window
  // on its own work reads 1. A loop that only waits for a core other processes hold reads
  // busy but uses little CPU: that is the machine's load, which latency shows, not this rule.
  cpu: number;
  // V8 heap in use against the heap's limit (0..1).
  heap: number;
  // Resident set size against the configured ceiling (0..1).
  rss: number;
};

export class SystemSignals {
  private lastElu: EventLoopUtilization = performance.eventLoopUtilization();
  private lastCpu = process.cpuUsage();
  private lastAt = performance.now();

  constructor(private readonly rssLimitBytes: number) {}

  read(): SystemReading {
    const now = performance.eventLoopUtilization();
    const window = performance.eventLoopUtilization(now, this.lastElu);
    this.lastElu = now;
    const at = performance.now();
    const used = process.cpuUsage(this.lastCpu);
    this.lastCpu = process.cpuUsage();
    const cores = (used.user + used.system) / 1000 / Math.max(1, at - this.lastAt);
    this.lastAt = at;
    const heap = getHeapStatistics();
    return {
      cpu: Math.min(window.utilization, cores),
      heap: heap.used_heap_size / heap.heap_size_limit,
      rss: process.memoryUsage.rss() / this.rssLimitBytes,
    };
  }
}
