import type { Config } from '../config.js';
import { hashModulo, spreadTag } from '../redis/slots.js';

// Every BullMQ queue of a deployment is named here. Each Queue, Worker, QueueEvents and
// bull-board adapter uses these names and this prefix, or it would look at other keys.

export function bullPrefix(config: { redis: Pick<Config['redis'], 'prefix'> }): string {
  return `${config.redis.prefix}:bull`;
}

// What the order queues are called together (traces, logs): each is `{orders-<i>-<k>}`.
export const orderQueueFamily = 'orders';

// A BullMQ queue's Lua touches all its keys at once, so they must share a hash slot; the tag is
// in the name, not the prefix, so that each order queue has a slot (and a master) of its own.
// Tags are chosen so that queue i of n lands in the i-th n-th of the slot space (spreadTag).
export function orderQueueName(index: number, queues = 1): string {
  return `{${spreadTag((k) => `orders-${index}-${k}`, index, queues)}}`;
}

export function orderQueueNames(config: {
  queues: Pick<Config['queues'], 'orderQueues'>;
}): string[] {
  return Array.from({ length: config.queues.orderQueues }, (_, i) =>
    orderQueueName(i, config.queues.orderQueues),
  );
}

// The queue of an order is a pure function of its id, so a redelivered order lands in
// the queue that already has its job and `jobId = orderId` makes the second add a no-op.
export function orderQueueIndex(orderId: string, queues: number): number {
  return hashModulo(orderId, queues);
}

// The payment window's expiry jobs (src/payments/expiry-queue.ts), braced like the order
// queues: one queue's keys share one slot.
export const expiryQueueName = '{expiry}';

// The order events' webhook deliveries (src/events/webhooks.ts); a delivery that used all its
// attempts stays in this queue's failed set, the dead letters.
export const webhookQueueName = '{events-webhooks}';
