import { Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Config } from '../config.js';
import type { Logger } from '../observability/logger.js';
import type { WorkerMetrics } from '../observability/worker-metrics.js';
import { withProcessSpan } from '../observability/trace-context.js';
import { bullPrefix, orderQueueFamily, orderQueueNames } from '../queues/names.js';
import type { OrderJobData } from './queue.js';
import type { JobOutcome } from './processor.js';
import type { UnrunJobs } from './dead-letter.js';

export type OrderWorkersDeps = {
  process: (job: Job) => Promise<JobOutcome>;
  metrics: Pick<WorkerMetrics, 'startJob' | 'completed'>;
  unrun: Pick<UnrunJobs, 'onFailed'>;
  logger: Logger;
};

// One BullMQ Worker per order queue, sharing the processor and so its batches: jobs of one
// sale met in different queues still claim, commit and confirm together.
export function startOrderWorkers(
  config: Config,
  connection: ConnectionOptions,
  deps: OrderWorkersDeps,
): Worker[] {
  const names = orderQueueNames(config);
  return names.map((name) => {
    const worker = new Worker(name, (job) => runJob(deps, name, job), {
      connection,
      prefix: bullPrefix(config),
      // WORKER_CONCURRENCY is the process's; ids spread orders evenly over the queues.
      concurrency: Math.max(1, Math.ceil(config.worker.concurrency / names.length)),
      lockDuration: config.worker.lockDurationMs,
      stalledInterval: config.worker.stalledIntervalMs,
      maxStalledCount: config.worker.maxStalledCount,
    });
    worker.on('error', (error) => deps.logger.error({ err: error }, 'worker error'));
    worker.on('failed', deps.unrun.onFailed);
    return worker;
  });
}

// Each attempt is a span in the purchase's trace, continued from the job's `traceparent`.
function runJob(deps: OrderWorkersDeps, queue: string, job: Job): Promise<JobOutcome> {
  return withProcessSpan(
    // The order queues are one destination; which of them is the partition.
    {
      system: 'bullmq',
      destination: orderQueueFamily,
      partition: queue,
      messageId: job.id,
      orderId: job.id,
    },
    { traceparent: (job.data as Partial<OrderJobData> | null)?.traceparent },
    async () => {
      const stopTimer = deps.metrics.startJob();
      try {
        const outcome = await deps.process(job);
        stopTimer({ outcome });
        deps.metrics.completed();
        return outcome;
      } catch (error) {
        stopTimer({ outcome: 'error' });
        throw error;
      }
    },
  );
}
