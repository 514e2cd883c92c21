import type { Channel } from 'amqplib';

// Durable names; deployments stay apart by vhost (AMQP_URL), not by name.
export const topology = {
  ordersExchange: 'flashline.orders',
  ordersQueue: 'flashline.orders',
  ordersRoutingKey: 'order',
  deadLetterExchange: 'flashline.dlx',
  deadLetterQueue: 'flashline.orders.dead',
  deadLetterRoutingKey: 'order.dead',
  // Dead letters nobody can act on (not an order at all): kept for a human, never retried.
  parkedQueue: 'flashline.orders.parked',
} as const;

// Safe to call on every (re)connect: declarations are idempotent while arguments match.
export async function assertTopology(channel: Channel): Promise<void> {
  await channel.assertExchange(topology.deadLetterExchange, 'direct', { durable: true });
  await channel.assertQueue(topology.deadLetterQueue, { durable: true });
  await channel.bindQueue(
    topology.deadLetterQueue,
    topology.deadLetterExchange,
    topology.deadLetterRoutingKey,
  );
  await channel.assertQueue(topology.parkedQueue, { durable: true });
  await channel.assertExchange(topology.ordersExchange, 'direct', { durable: true });
  await channel.assertQueue(topology.ordersQueue, {
    durable: true,
    // A message the bridge rejects (it cannot be parsed) goes to the dead letters
    // instead of being redelivered forever.
    deadLetterExchange: topology.deadLetterExchange,
    deadLetterRoutingKey: topology.deadLetterRoutingKey,
  });
  await channel.bindQueue(topology.ordersQueue, topology.ordersExchange, topology.ordersRoutingKey);
}
