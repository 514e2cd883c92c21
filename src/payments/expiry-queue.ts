import { DelayedError, Queue, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Config } from '../config.js';
import { bullPrefix, expiryQueueName } from '../queues/names.js';
import { expireOrder, type ArbiterDeps } from './arbiter.js';

export type ExpiryJobData = { orderId: string };

// Deterministic: an order confirmed twice (a redelivered job) schedules one expiry. BullMQ
// refuses ':' in custom ids.
export const expiryJobId = (orderId: string) => `expire-${orderId}`;

export function createExpiryQueue(
  config: Config,
  connection: ConnectionOptions,
): Queue<ExpiryJobData> {
  return new Queue<ExpiryJobData>(expiryQueueName, {
    connection,
    prefix: bullPrefix(config),
    defaultJobOptions: {
      attempts: 20,
      backoff: { type: 'exponential', delay: 500 },
      // Kept a while for bull-board and so that scheduling the same order again adds nothing.
      removeOnComplete: { age: 3600, count: 10_000 },
      removeOnFail: { age: 24 * 3600 },
    },
  });
}

// The job is the fast path to an expiry on time; the compensator's sweep (expiry-sweep.ts)
// finds the orders whose job Redis forgot.
export async function scheduleExpiry(
  queue: Pick<Queue<ExpiryJobData>, 'add'>,
  orderId: string,
  payBy: Date,
): Promise<void> {
  await queue.add(
    'expire',
    { orderId },
    { jobId: expiryJobId(orderId), delay: Math.max(0, payBy.getTime() - Date.now()) },
  );
}

// A job that runs before payBy by the database clock (clocks differ, or it was scheduled
// from an estimate) waits again until payBy: the order is never expired early.
export function createExpiryProcessor(deps: ArbiterDeps) {
  return async (job: Job<ExpiryJobData>, token?: string) => {
    const result = await expireOrder(deps, job.data.orderId, 'job');
    if (result.kind === 'not_due') {
      // Never sooner than 100 ms, so a clock ahead of the database cannot spin the job.
      await job.moveToDelayed(Math.max(result.payBy.getTime(), Date.now() + 100), token);
      throw new DelayedError();
    }
    return result.kind;
  };
}

// The worker's expiry jobs, with the order workers' lock and stall settings.
export function startExpiryWorker(
  config: Config,
  connection: ConnectionOptions,
  deps: ArbiterDeps,
): Worker<ExpiryJobData> {
  const worker = new Worker<ExpiryJobData>(expiryQueueName, createExpiryProcessor(deps), {
    connection,
    prefix: bullPrefix(config),
    concurrency: config.worker.expiryConcurrency,
    lockDuration: config.worker.lockDurationMs,
    stalledInterval: config.worker.stalledIntervalMs,
  });
  worker.on('error', (error) => deps.logger.error({ err: error }, 'expiry worker error'));
  return worker;
}
