import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { ApiError } from './api-error.js';
import type { ApiMetrics } from '../observability/metrics.js';

export type AdmissionOptions = {
  // Shed while the mean event-loop delay of the last window is above this; 0 = never.
  lagThresholdMs: number;
  sampleMs: number;
};

const resolutionMs = 10;

// Admission control on event-loop lag: when the process cannot keep up, requests queue in
// the loop and every answer gets slower. Shedding new purchases early (before the JWT, the
// body and Redis) keeps the latency of the ones let in bounded instead of letting it pile up.
// The mean delay is used, not the max, so a single pause (GC, a noisy neighbour) sheds
// nothing; only a loop that is slow turn after turn does.
export class EventLoopAdmission {
  private readonly histogram: IntervalHistogram;
  private timer: NodeJS.Timeout | null = null;
  private lastSampleAt = 0;
  private shedding = false;
  lagMs = 0;

  constructor(private readonly options: AdmissionOptions) {
    this.histogram = monitorEventLoopDelay({ resolution: resolutionMs });
  }

  get enabled(): boolean {
    return this.options.lagThresholdMs > 0;
  }

  get overloaded(): boolean {
    return this.shedding;
  }

  start(): void {
    if (!this.enabled || this.timer) return;
    this.histogram.enable();
    this.lastSampleAt = performance.now();
    this.timer = setInterval(() => this.sample(), this.options.sampleMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.histogram.disable();
    this.shedding = false;
  }

  private sample(): void {
    const now = performance.now();
    // This timer is itself late by the lag; it also covers a window whose only sample the
    // histogram dropped (the first one after reset() is not recorded).
    const timerLateMs = now - this.lastSampleAt - this.options.sampleMs;
    this.lastSampleAt = now;
    const histogramLagMs =
      this.histogram.count > 0 ? this.histogram.mean / 1e6 - resolutionMs : timerLateMs;
    this.histogram.reset();
    this.lagMs = Math.max(0, histogramLagMs);
    this.shedding = this.lagMs > this.options.lagThresholdMs;
  }
}

const overloaded = new ApiError(
  503,
  'UNAVAILABLE',
  'the server is overloaded; nothing was reserved; retry shortly',
  { 'retry-after': '1' },
);

// The answer for a request shed while the loop is overloaded (nothing was reserved for it),
// or undefined to let it in.
export function shedAnswer(
  admission: EventLoopAdmission | undefined,
  metrics: ApiMetrics,
): ApiError | undefined {
  if (!admission?.overloaded) return undefined;
  metrics.gateOutcomes.inc({ outcome: 'shed' });
  return overloaded;
}
