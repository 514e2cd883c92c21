import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';

// What the process's own resources say, one reading per admission window.
export type SystemReading = {
  // Share of the window the event loop was busy (0..1): a Node process answers on one core,
  // so this, not the process's CPU over all its threads, is the CPU that runs out.
  cpu: number;
  // V8 heap in use against the heap's limit (0..1).
  heap: number;
  // Resident set size against the configured ceiling (0..1).
  rss: number;
};

export class SystemSignals {
  private lastElu: EventLoopUtilization = performance.eventLoopUtilization();

  constructor(private readonly rssLimitBytes: number) {}

  read(): SystemReading {
    const now = performance.eventLoopUtilization();
    const window = performance.eventLoopUtilization(now, this.lastElu);
    this.lastElu = now;
    const heap = getHeapStatistics();
    return {
      cpu: window.utilization,
      heap: heap.used_heap_size / heap.heap_size_limit,
      rss: process.memoryUsage.rss() / this.rssLimitBytes,
    };
  }
}
