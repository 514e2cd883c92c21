import { afterAll, beforeAll, expect, it } from 'vitest';
import { stopInTurn } from './support/stop-in-turn.js';
import { createTestEnv, rejectOrderPublishes, type TestEnv } from './support/env.js';
import { brokerClient } from './support/failures.js';
import { orderMessage } from './support/messages.js';
import { BrokerConnection } from '../src/broker/connection.js';
import { ConfirmedPublisher, PublishNackedError } from '../src/broker/publisher.js';
import { OrderPublisher } from '../src/broker/order-publisher.js';
import { topology } from '../src/broker/topology.js';
import { orderBatchSchema, orderMessageSchema } from '../src/broker/messages.js';

// The API's publisher on the real RabbitMQ (no bridge: the messages stay in the order queue).
// orders accepted in one event-loop turn travel as one message
let env: TestEnv;
let broker: BrokerConnection;
let confirmed: ConfirmedPublisher;
let inspect: Awaited<ReturnType<typeof brokerClient>>;

beforeAll(async () => {
  env = await createTestEnv('orderpub');
  broker = new BrokerConnection(
    env.config.amqp.url,
    env.logger,
    'test-order-publisher',
    env.config,
  );
  await broker.start();
  confirmed = new ConfirmedPublisher(broker, 3_000);
  inspect = await brokerClient(env);
});
afterAll(() => stopInTurn(inspect, broker, env));

// Every message waiting in the order queue, taken off it.
const takeMessages = async () => {
  const bodies: unknown[] = [];
  for (;;) {
    const message = await inspect.channel.get(topology.ordersQueue, { noAck: true });
    if (!message) return bodies;
    bodies.push(JSON.parse(message.content.toString('utf8')));
  }
};

it('sends one turn as one message, each publish settled by its confirm', async () => {
  const publisher = new OrderPublisher(confirmed, 128);
  const orders = Array.from({ length: 20 }, orderMessage);
  await Promise.all(orders.map((o) => publisher.publish(o)));

  const [body, ...rest] = await takeMessages();
  expect(rest).toEqual([]);
  expect(orderBatchSchema.parse(body).orders).toEqual(orders);
});

it('starts a new message at the batch limit, and after the turn ends', async () => {
  const publisher = new OrderPublisher(confirmed, 8);
  const firstTurn = Array.from({ length: 20 }, orderMessage);
  const published = firstTurn.map((o) => publisher.publish(o));
  await new Promise((resolve) => setImmediate(resolve));
  const nextTurn = Array.from({ length: 3 }, orderMessage);
  published.push(...nextTurn.map((o) => publisher.publish(o)));
  await Promise.all(published);

  const sizes = (await takeMessages()).map((body) => orderBatchSchema.parse(body).orders.length);
  expect(sizes).toEqual([8, 8, 4, 3]);
});

it('sends a lone order in the one-order format', async () => {
  const publisher = new OrderPublisher(confirmed, 128);
  const lone = orderMessage();
  await publisher.publish(lone);
  const bodies = await takeMessages();
  expect(bodies.map((body) => orderMessageSchema.parse(body))).toEqual([lone]);
});

it('fails every publish of a message the broker refuses', async () => {
  const publisher = new OrderPublisher(confirmed, 128);
  const acceptPublishes = await rejectOrderPublishes(env);
  try {
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, () => publisher.publish(orderMessage())),
    );
    for (const result of results) {
      expect(result.status).toBe('rejected');
      expect((result as PromiseRejectedResult).reason).toBeInstanceOf(PublishNackedError);
    }
  } finally {
    await acceptPublishes();
  }
  expect(await takeMessages()).toEqual([]);
});
