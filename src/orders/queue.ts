import { Queue, type ConnectionOptions, type DefaultJobOptions, type JobType } from 'bullmq';
import type { Config } from '../config.js';
import type { OrderMessage } from '../broker/messages.js';
import { bullPrefix, orderQueueIndex, orderQueueNames } from '../queues/names.js';

export type OrderJobData = OrderMessage;
export type OrderJob = { name: string; data: OrderJobData; opts: { jobId: string } };

export function orderJobOptions(config: Config): DefaultJobOptions {
  return {
    attempts: config.queues.jobAttempts,
    backoff: { type: 'exponential', delay: config.queues.jobBackoffMs },
    // Finished jobs are kept a while for bull-board and so that a late redelivery of the
    // same order id finds its job and adds nothing.
    removeOnComplete: { age: 3600, count: 10_000 },
    removeOnFail: { age: 24 * 3600 },
  };
}

export function orderJob(data: OrderJobData): OrderJob {
  return { name: 'order', data, opts: { jobId: data.orderId } };
}

// The order queues of a deployment, addressed by order: every add, state lookup and count
// goes to the queue the order's id names.
export class OrderQueues {
  readonly queues: Queue<OrderJobData>[];

  constructor(config: Config, connection: ConnectionOptions) {
    this.queues = orderQueueNames(config).map(
      (name) =>
        new Queue<OrderJobData>(name, {
          connection,
          prefix: bullPrefix(config),
          defaultJobOptions: orderJobOptions(config),
        }),
    );
  }

  queueOf(orderId: string): Queue<OrderJobData> {
    return this.queues[orderQueueIndex(orderId, this.queues.length)]!;
  }

  // One addBulk (one MULTI, one slot) per queue the jobs fall in.
  async addBulk(jobs: readonly OrderJob[]): Promise<void> {
    const byQueue = new Map<Queue<OrderJobData>, OrderJob[]>();
    for (const job of jobs) {
      const queue = this.queueOf(job.opts.jobId);
      const list = byQueue.get(queue);
      if (list) list.push(job);
      else byQueue.set(queue, [job]);
    }
    await Promise.all([...byQueue].map(([queue, list]) => queue.addBulk(list)));
  }

  getJobState(orderId: string) {
    return this.queueOf(orderId).getJobState(orderId);
  }

  async getJob(orderId: string) {
    return this.queueOf(orderId).getJob(orderId);
  }

  // Summed over the queues.
  async getJobCounts(...types: JobType[]): Promise<Record<string, number>> {
    const counts = await Promise.all(this.queues.map((q) => q.getJobCounts(...types)));
    const total: Record<string, number> = {};
    for (const c of counts) for (const [k, v] of Object.entries(c)) total[k] = (total[k] ?? 0) + v;
    return total;
  }

  async close(): Promise<void> {
    await Promise.all(this.queues.map((q) => q.close()));
  }
}

export function createOrderQueues(config: Config, connection: ConnectionOptions): OrderQueues {
  return new OrderQueues(config, connection);
}
