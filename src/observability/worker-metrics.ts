import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { ErrorClass } from '../errors/classify.js';

export const bullmqJobStates = ['waiting', 'active', 'delayed', 'failed', 'completed'] as const;
export type BullmqJobState = (typeof bullmqJobStates)[number];

export function workerMetrics(
  registry: Registry,
  sampleJobCounts: () => Promise<Partial<Record<BullmqJobState, number>>>,
) {
  const jobs = new Counter({
    name: 'flashline_jobs_total',
    help: 'Order jobs finished or retried, by outcome and error class',
    labelNames: ['outcome', 'error_class'],
    registers: [registry],
  });
  // Zero series from the start, so rate() and alerts see them before the first failure.
  jobs.inc({ outcome: 'completed', error_class: 'none' }, 0);
  for (const outcome of ['retried', 'failed']) {
    for (const errorClass of ['transient', 'permanent'] satisfies ErrorClass[]) {
      jobs.inc({ outcome, error_class: errorClass }, 0);
    }
  }
  const duration = new Histogram({
    name: 'flashline_job_duration_seconds',
    help: 'Order job processing time, by outcome',
    labelNames: ['outcome'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  new Gauge({
    name: 'flashline_bullmq_jobs',
    help: 'Jobs in the order queue by state, sampled at scrape',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      const counts = await sampleJobCounts().catch(() => null);
      if (!counts) return;
      for (const state of bullmqJobStates) this.set({ state }, counts[state] ?? 0);
    },
  });
  return {
    startJob: () => duration.startTimer(),
    completed: () => jobs.inc({ outcome: 'completed', error_class: 'none' }),
    failed: (errorClass: ErrorClass, final: boolean) =>
      jobs.inc({ outcome: final ? 'failed' : 'retried', error_class: errorClass }),
  };
}

export type WorkerMetrics = ReturnType<typeof workerMetrics>;
