import { once } from 'node:events';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { stopInTurn } from './support/stop-in-turn.js';
import { type Queue } from 'bullmq';
import { createTestEnv, waitFor, type TestEnv } from './support/env.js';
import { brokerClient } from './support/failures.js';
import { orderMessage } from './support/messages.js';
import { Bridge } from '../src/bridge/bridge.js';
import { BrokerConnection } from '../src/broker/connection.js';
import { topology } from '../src/broker/topology.js';
import type { OrderBatchMessage, OrderMessage } from '../src/broker/messages.js';
import { createOrderQueues, type OrderJobData, type OrderQueues } from '../src/orders/queue.js';
import { createBullRedis, createRedis, type RedisClient } from '../src/redis/connection.js';
import { createDatabase, type Database } from '../src/db/client.js';
import { ordersWithRows } from '../src/db/orders-repository.js';

// The bridge on the real RabbitMQ, Redis and PostgreSQL: messages that arrive together are
// stored with one bulk add, and a message is acked only once every order in it has a row in
// PostgreSQL (its job alone lives in a Redis that may forget it).
// the bridge from RabbitMQ to BullMQ
let env: TestEnv;
let broker: BrokerConnection;
let publisher: Awaited<ReturnType<typeof brokerClient>>;
// The bridge's own Redis connection, which a test takes away.
let redis: RedisClient;
let queue: OrderQueues;
// A second look at the same queue, over a connection that stays up.
let inspectRedis: RedisClient;
let inspectQueues: OrderQueues;
// One order queue (ORDER_QUEUES unset on one server).
let inspect: Queue<OrderJobData>;
let sut: Bridge;
let db: Database;
const counts = { forwarded: 0, unparseable: 0, enqueue_failed: 0 };

beforeEach(async () => {
  env = await createTestEnv('bridge');
  db = createDatabase(env.config.database.url, 2);
  // The sale of test/support/messages.ts orderMessage(), so order rows can be written.
  await db.$client.query(
    `INSERT INTO sales (id, sku, name, stock) OVERRIDING SYSTEM VALUE VALUES (7, 'b', 'b', 1000)`,
  );
  Object.assign(counts, { forwarded: 0, unparseable: 0, enqueue_failed: 0 });
  broker = new BrokerConnection(env.config.amqp.url, env.logger, 'test-bridge', env.config);
  redis = createRedis(env.config, { enableOfflineQueue: false });
  queue = createOrderQueues(env.config, redis);
  // A connection taken away makes the queue report errors; the bridge's failures are counted.
  for (const q of queue.queues) q.on('error', () => undefined);
  inspectRedis = createBullRedis(env.config);
  inspectQueues = createOrderQueues(env.config, inspectRedis);
  inspect = inspectQueues.queues[0]!;
  sut = new Bridge({
    broker,
    queue,
    logger: env.logger,
    counters: {
      forwarded: () => (counts.forwarded += 1),
      failed: (reason) => (counts[reason] += 1),
    },
    settledOrders: (ids) => ordersWithRows(db, ids),
    prefetch: 64,
    maxBulk: 100,
    retryDelayMs: 100,
    settleIntervalMs: 20,
    readdAfterMs: 60_000,
  });
  sut.start();
  await broker.start();
  publisher = await brokerClient(env);
});
afterEach(() =>
  stopInTurn(sut, broker, publisher, queue, inspectQueues, redis, inspectRedis, db?.$client, env),
);

// Publishes all at once, so that they reach the bridge together.
const publishAll = async (bodies: (OrderMessage | OrderBatchMessage | Buffer)[]) => {
  for (const body of bodies) {
    const content = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
    publisher.channel.publish(topology.ordersExchange, topology.ordersRoutingKey, content, {
      persistent: true,
    });
  }
  await publisher.channel.waitForConfirms();
};
// Closes the bridge's Redis connection; the queue keeps it closed until told otherwise.
const takeRedisAway = async () => {
  const gone = once(redis, 'end');
  redis.disconnect();
  await gone;
};
// Stops the bridge: whatever it had not acked goes back to the queue.
const stopBridge = async () => {
  await sut.stop(200);
  await broker.close();
};
// What a worker (or the compensator) does last for an order: its row.
const writeRows = async (orders: OrderMessage[]) => {
  await db.$client.query(
    `INSERT INTO orders (id, sale_id, user_id, quantity, status, reserved_at)
     SELECT id, 7, 'buyer', 1, 'confirmed', now() FROM unnest($1::text[]) AS t(id)
     ON CONFLICT (id) DO NOTHING`,
    [orders.map((o) => o.orderId)],
  );
};

it('stores the orders that arrive together and acks each once its orders have rows', async () => {
  const orders = Array.from({ length: 40 }, orderMessage);
  const twice = orders[3]!;
  await publishAll([
    ...orders.slice(0, 20),
    Buffer.from('{"not":"an order"'),
    twice,
    ...orders.slice(20),
  ]);

  await waitFor(async () => counts.forwarded === 41 && counts.unparseable === 1, {
    what: 'every message forwarded or refused',
  });
  for (const o of orders) {
    const job = await inspect.getJob(o.orderId);
    expect(job?.data).toMatchObject(o);
  }
  // The order delivered twice is one job: `jobId = orderId` within a bulk too.
  expect(await inspect.getJobCountByTypes('waiting')).toBe(40);
  // Stored is not enough: no row, no ack.
  expect(sut.heldOrders).toBe(41);

  await writeRows(orders);
  await waitFor(async () => sut.heldOrders === 0, { what: 'every held message acked' });
  await stopBridge();
  // Nothing was left unacked to come back; the unparseable one was dead-lettered.
  expect(await publisher.messageCount(topology.ordersQueue)).toBe(0);
  await waitFor(async () => (await publisher.messageCount(topology.deadLetterQueue)) === 1, {
    what: 'one message in deadLetterQueue',
  });
});

it('keeps a message until every order in it has its row, and hands it back on stop', async () => {
  const batch = { orders: Array.from({ length: 5 }, orderMessage) };
  const lone = orderMessage();
  await publishAll([batch, lone]);
  await waitFor(async () => counts.forwarded === 6, { what: 'both messages stored' });

  // Four of the five rows: the batch stays held; the lone order's row acks its message.
  await writeRows([...batch.orders.slice(0, 4), lone]);
  await waitFor(async () => sut.heldOrders === 1, { what: 'the lone message acked' });

  await stopBridge();
  await waitFor(async () => (await publisher.messageCount(topology.ordersQueue)) === 1, {
    what: 'one message in ordersQueue',
  });
});

it('adds again the jobs of held orders that Redis lost', async () => {
  const orders = Array.from({ length: 12 }, orderMessage);
  await publishAll(orders);
  await waitFor(async () => counts.forwarded === 12, { what: 'every order stored' });
  // Redis forgets the queue, as a Redis restarted empty would.
  await inspect.obliterate({ force: true });
  expect(await inspect.getJob(orders[0]!.orderId)).toBeUndefined();

  await writeRows(orders.slice(0, 2));
  await waitFor(async () => sut.heldOrders === 10, { what: 'the two with rows acked' });
  await sut.readdHeld('test: redis lost state');
  expect(await inspect.getJobCountByTypes('waiting')).toBe(10);
  for (const o of orders.slice(2)) expect((await inspect.getJob(o.orderId))?.data).toMatchObject(o);
});

it('stores every order of a message holding several, and never splits a message', async () => {
  const bulkSizes: number[] = [];
  const addBulk = queue.addBulk.bind(queue);
  queue.addBulk = (jobs) => {
    bulkSizes.push(jobs.length);
    return addBulk(jobs);
  };
  const batches = Array.from({ length: 4 }, () => ({
    orders: Array.from({ length: 60 }, orderMessage),
  }));
  const oversized = { orders: Array.from({ length: 150 }, orderMessage) };
  const lone = orderMessage();
  const withABadOrder = { orders: [orderMessage(), { ...orderMessage(), quantity: 0 }] };
  // batches[1] again, as after a redelivery: its orders are already jobs.
  await publishAll([...batches, oversized, lone, withABadOrder, batches[1]!]);

  const expected = [...batches.flatMap((b) => b.orders), ...oversized.orders, lone];
  await waitFor(async () => counts.forwarded === expected.length + 60 && counts.unparseable === 1, {
    what: () => `every message forwarded or refused (${JSON.stringify(counts)})`,
  });
  expect(await inspect.getJobCountByTypes('waiting')).toBe(expected.length);
  for (const o of expected) expect((await inspect.getJob(o.orderId))?.data).toMatchObject(o);
  await writeRows(expected);
  await waitFor(async () => sut.heldOrders === 0, { what: 'every held message acked' });
  // A message is refused whole: no order of the one with a bad order became a job.
  expect(await inspect.getJob(withABadOrder.orders[0]!.orderId)).toBeUndefined();
  // Bulks stay within maxBulk (100) unless one message alone holds more; and since messages
  // are never split, every bulk is a sum of whole messages (60s, the 150 and the lone 1).
  for (const size of bulkSizes) {
    expect(size <= 100 || size === 150, `bulk of ${size}`).toBe(true);
    expect([0, 1].includes(size % 60) || size === 150, `bulk of ${size}`).toBe(true);
  }

  await stopBridge();
  expect(await publisher.messageCount(topology.ordersQueue)).toBe(0);
  await waitFor(async () => (await publisher.messageCount(topology.deadLetterQueue)) === 1, {
    what: 'one message in deadLetterQueue',
  });
});

it('acks nothing while Redis is away, and stores every order once it is back', async () => {
  await takeRedisAway();
  const orders = Array.from({ length: 20 }, orderMessage);
  await publishAll(orders);

  await waitFor(async () => counts.enqueue_failed >= 40, {
    what: 'the adds failing, twice each',
  });
  expect(counts.forwarded).toBe(0);
  expect(await inspect.getJobCountByTypes('waiting')).toBe(0);

  redis.connect().catch(() => undefined);
  await waitFor(async () => counts.forwarded === 20, {
    what: 'every order stored once Redis is back',
  });
  for (const o of orders) expect((await inspect.getJob(o.orderId))?.data).toMatchObject(o);

  await writeRows(orders);
  await waitFor(async () => sut.heldOrders === 0, { what: 'every held message acked' });
  await stopBridge();
  expect(await publisher.messageCount(topology.ordersQueue)).toBe(0);
  expect(await publisher.messageCount(topology.deadLetterQueue)).toBe(0);
});

it('hands back, on stop, the orders it could not store', async () => {
  await takeRedisAway();
  await publishAll(Array.from({ length: 10 }, orderMessage));
  await waitFor(async () => counts.enqueue_failed >= 10, { what: 'the adds failing' });

  await stopBridge();
  expect(counts.forwarded).toBe(0);
  // A quorum queue counts a returned message a moment after it is back.
  await waitFor(async () => (await publisher.messageCount(topology.ordersQueue)) === 10, {
    what: () => 'the 10 orders back in the order queue',
  });
});
