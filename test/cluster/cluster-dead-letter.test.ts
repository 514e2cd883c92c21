import { afterAll, beforeAll, expect, it } from 'vitest';
import amqp from 'amqplib';
import pg from 'pg';
import { createTestEnv, rabbitmqctl, waitFor, type TestEnv } from '../support/env.js';
import { client, groupByStatus, pool } from '../support/system.js';
import { assertOracle, type Answer } from '../support/oracle.js';
import { readyWithin, settleFast } from '../support/failures.js';
import { freePort } from '../support/api-process.js';
import { killAll, spawnProcess } from '../support/processes.js';
import { stopRedisServers } from '../support/redis-servers.js';
import { startRedisCluster, type RedisCluster } from '../support/redis-cluster.js';
import { topology } from '../../src/broker/topology.js';

// The dead-letter path on quorum queues, on a Redis Cluster: orders a worker gives up on, and an
// order message delivered more often than the delivery limit (a message that kills its consumer
// every time), both end failed with their stock returned, through at-least-once dead-lettering.
// the dead-letter path on quorum queues, on a Redis Cluster
let cluster: RedisCluster;
let env: TestEnv;
let db: pg.Client;

beforeAll(async () => {
  cluster = await startRedisCluster(3);
  env = await createTestEnv('cluster-dead-letter', {
    REDIS_CLUSTER_NODES: cluster.nodes,
    REDIS_URL: 'redis://127.0.0.1:1/0',
    // Whatever the run's choice, this test is about quorum queues.
    AMQP_QUEUE_TYPE: 'quorum',
    AMQP_DELIVERY_LIMIT: '3',
    JOB_ATTEMPTS: '1',
    ...settleFast,
  });
  db = new pg.Client({ connectionString: env.config.database.url });
  await db.connect();
});
afterAll(async () => {
  await db?.end();
  await killAll();
  await stopRedisServers();
  await env?.cleanup();
});

const statusesOf = async (ids: string[]) =>
  (await db.query('SELECT id, status, reason FROM orders WHERE id = ANY($1)', [ids])).rows as {
    id: string;
    status: string;
    reason: string | null;
  }[];

it('declares every queue a quorum queue, dead-lettering at least once with a delivery limit', async () => {
  const port = await freePort();
  const api = spawnProcess('api', env, { PORT: String(port) });
  await readyWithin(api);
  const vhost = decodeURIComponent(new URL(env.config.amqp.url).pathname.slice(1));
  const listed = await rabbitmqctl('list_queues', '-p', vhost, 'name', 'type', 'arguments');
  const line = (name: string) =>
    listed.split('\n').find((l) => l.split('\t')[0] === name) ?? `${name} missing`;
  for (const name of [topology.ordersQueue, topology.deadLetterQueue, topology.parkedQueue]) {
    expect(line(name), name).toMatch(/\tquorum\t/);
  }
  for (const name of [topology.ordersQueue, topology.deadLetterQueue]) {
    expect(line(name)).toContain('at-least-once');
    expect(line(name)).toContain('reject-publish');
    expect(line(name)).toMatch(/x-delivery-limit[^\d]+3/);
  }
  api.kill('SIGTERM');
  await api.exited;
});

it('returns the stock of orders the worker gave up on', async () => {
  const port = await freePort();
  const faulty = { FAULT_FAIL_RATE: '0.3' };
  const children = [
    spawnProcess('api', env, { PORT: String(port) }),
    spawnProcess('bridge', env),
    spawnProcess('worker', env, faulty),
    spawnProcess('compensator', env),
  ];
  await Promise.all(children.map((child) => readyWithin(child)));
  const api = client(`http://127.0.0.1:${port}`, env);
  const saleId = (await api.createSale({ sku: 'dlq-faults', name: 'Faults', stock: 100 })).body
    .id as number;
  const tasks = Array.from({ length: 100 }, (_, i) => async (): Promise<Answer> => {
    const buyer = `buyer-${i}`;
    const answer = await api.purchase(saleId, buyer);
    return { status: answer.status, orderId: answer.body?.orderId, buyer, quantity: 1 };
  });
  const answers = await pool(tasks, 16);
  expect(groupByStatus(answers)['202']).toHaveLength(100);
  const result = await assertOracle(env, saleId, answers, { timeoutMs: 90_000 });
  expect(result.failed, 'some orders were dead-lettered').toBeGreaterThan(0);
  expect(result.confirmedUnits + result.failed).toBe(100);
  for (const child of children) child.kill('SIGTERM');
  await Promise.all(children.map((child) => child.exited));
});

it('dead-letters an order message delivered more often than the limit, and returns its stock', async () => {
  // No bridge: a consumer of the test's own stands for one that dies on this message, so
  // the message goes back to the queue every time.
  const port = await freePort();
  const children = [
    spawnProcess('api', env, { PORT: String(port) }),
    spawnProcess('compensator', env),
  ];
  await Promise.all(children.map((child) => readyWithin(child)));
  const api = client(`http://127.0.0.1:${port}`, env);
  const saleId = (await api.createSale({ sku: 'dlq-limit', name: 'Limit', stock: 5 })).body
    .id as number;
  const bought = await api.purchase(saleId, 'looping');
  expect(bought.status).toBe(202);
  const orderId = bought.body.orderId as string;

  const connection = await amqp.connect(env.config.amqp.url);
  let deliveries = 0;
  try {
    const channel = await connection.createChannel();
    await channel.consume(topology.ordersQueue, (message) => {
      if (!message) return;
      // Only this order's message: the previous test's bridge may have handed back messages
      // it still held (their failed rows not yet seen) when it stopped.
      if (message.content.toString('utf8').includes(orderId)) deliveries += 1;
      channel.nack(message, false, true);
    });
    await waitFor(async () => (await statusesOf([orderId]))[0]?.status === 'failed', {
      timeoutMs: 60_000,
      what: () => `the looping order failed by the compensator (${deliveries} deliveries)`,
    });
  } finally {
    await connection.close();
  }
  // Delivered up to the limit (3), then handed to the dead letters instead of a 4th time.
  expect(deliveries).toBeGreaterThanOrEqual(3);
  expect(deliveries).toBeLessThanOrEqual(4);
  expect((await statusesOf([orderId]))[0]?.reason).toContain('delivery_limit');
  await assertOracle(env, saleId, [{ status: 202, orderId, buyer: 'looping', quantity: 1 }]);
  expect((await api.sale(saleId)).body).toMatchObject({ remaining: 5 });
  for (const child of children) child.kill('SIGTERM');
  await Promise.all(children.map((child) => child.exited));
});
