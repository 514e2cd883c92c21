import type { Channel, Options } from 'amqplib';
import type { Config } from '../config.js';

// Durable names; deployments stay apart by vhost (AMQP_URL), not by name.
export const topology = {
  ordersExchange: 'flashline.orders',
  ordersQueue: 'flashline.orders',
  ordersRoutingKey: 'order',
  deadLetterExchange: 'flashline.dlx',
  deadLetterQueue: 'flashline.orders.dead',
  deadLetterRoutingKey: 'order.dead',
  // Dead letters nobody can act on (not an order at all, or one that kept killing the
  // compensator): kept for a human, never retried.
  parkedQueue: 'flashline.orders.parked',
  parkingExchange: 'flashline.parking',
  parkedRoutingKey: 'order.parked',
  // Order events (API.md, Order events): routing key order.<status>. Flashline binds no queue
  // to it; each consumer binds its own.
  eventsExchange: 'flashline.events',
} as const;

export type QueueSettings = {
  amqp: Pick<Config['amqp'], 'queueType' | 'deliveryLimit' | 'quorumSize'>;
};

// The arguments of a queue of the configured type. A quorum queue has `quorumSize` replicas
// (0: as many as the broker chooses, every node on RabbitMQ 3.x), dead-letters at least once
// (the message leaves only when the dead-letter queue confirmed it, which needs reject-publish
// rather than dropping the oldest), and after `deliveryLimit` deliveries, so a message that
// kills its consumer every time does not loop for ever. A classic queue has none of these.
function queueOptions(
  settings: QueueSettings,
  deadLetter?: { exchange: string; routingKey: string },
): Options.AssertQueue {
  const dlx = deadLetter
    ? { deadLetterExchange: deadLetter.exchange, deadLetterRoutingKey: deadLetter.routingKey }
    : {};
  if (settings.amqp.queueType === 'classic') return { durable: true, ...dlx };
  return {
    durable: true,
    ...dlx,
    arguments: {
      'x-queue-type': 'quorum',
      ...(settings.amqp.quorumSize > 0
        ? { 'x-quorum-initial-group-size': settings.amqp.quorumSize }
        : {}),
      ...(deadLetter
        ? {
            'x-dead-letter-strategy': 'at-least-once',
            'x-overflow': 'reject-publish',
            'x-delivery-limit': settings.amqp.deliveryLimit,
          }
        : {}),
    },
  };
}

// Each queue with its exchange and binding, in the order they are declared: the exchange a
// queue dead-letters to exists before the queue.
function queues(settings: QueueSettings) {
  return [
    // Dead letters nobody can act on, kept for a human.
    {
      exchange: topology.parkingExchange,
      queue: topology.parkedQueue,
      routingKey: topology.parkedRoutingKey,
      options: queueOptions(settings),
    },
    // Only a quorum dead-letter queue counts deliveries: one that kept killing the compensator
    // is parked by the broker.
    {
      exchange: topology.deadLetterExchange,
      queue: topology.deadLetterQueue,
      routingKey: topology.deadLetterRoutingKey,
      options:
        settings.amqp.queueType === 'quorum'
          ? queueOptions(settings, {
              exchange: topology.parkingExchange,
              routingKey: topology.parkedRoutingKey,
            })
          : queueOptions(settings),
    },
    // A message the bridge rejects (it cannot be parsed), or one delivered too often, goes to
    // the dead letters instead of being redelivered forever.
    {
      exchange: topology.ordersExchange,
      queue: topology.ordersQueue,
      routingKey: topology.ordersRoutingKey,
      options: queueOptions(settings, {
        exchange: topology.deadLetterExchange,
        routingKey: topology.deadLetterRoutingKey,
      }),
    },
  ];
}

// Safe to call on every (re)connect: declarations are idempotent while arguments match. A
// queue declared before with another type (or other arguments) is refused with
// PRECONDITION_FAILED: docs/operations.md says how to switch.
export async function assertTopology(channel: Channel, settings: QueueSettings): Promise<void> {
  await channel.assertExchange(topology.eventsExchange, 'topic', { durable: true });
  for (const { exchange, queue, routingKey, options } of queues(settings)) {
    await channel.assertExchange(exchange, 'direct', { durable: true });
    await channel.assertQueue(queue, options);
    await channel.bindQueue(queue, exchange, routingKey);
  }
}
