import { Queue, type ConnectionOptions, type DefaultJobOptions } from 'bullmq';
import type { Config } from '../config.js';
import type { OrderMessage } from '../broker/messages.js';

export const orderQueueName = 'orders';
export type OrderJobData = OrderMessage;

export function bullPrefix(config: Config): string {
  return `${config.redisPrefix}:bull`;
}

export function orderJobOptions(config: Config): DefaultJobOptions {
  return {
    attempts: config.jobAttempts,
    backoff: { type: 'exponential', delay: config.jobBackoffMs },
    // Finished jobs are kept a while for bull-board and so that a late redelivery of the
    // same order id finds its job and adds nothing.
    removeOnComplete: { age: 3600, count: 10_000 },
    removeOnFail: { age: 24 * 3600 },
  };
}

export function createOrderQueue(
  config: Config,
  connection: ConnectionOptions,
): Queue<OrderJobData> {
  return new Queue<OrderJobData>(orderQueueName, {
    connection,
    prefix: bullPrefix(config),
    defaultJobOptions: orderJobOptions(config),
  });
}
