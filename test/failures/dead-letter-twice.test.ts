import { afterAll, beforeAll, expect, it } from 'vitest';
import { stopInTurn } from '../support/stop-in-turn.js';
import pg from 'pg';
import { createTestEnv, orderQueuePolicy, waitFor, type TestEnv } from '../support/env.js';
import { client } from '../support/system.js';
import { assertOracle, type Answer } from '../support/oracle.js';
import {
  brokerClient,
  metric,
  startTestCompensator,
  type RunningCompensator,
} from '../support/failures.js';
import { startApi, type RunningApi } from '../../src/cmd/wiring/api.js';
import { startBridge } from '../../src/cmd/wiring/bridge.js';
import { startWorker } from '../../src/cmd/wiring/worker.js';
import { insertConfirmedOrder } from '../../src/db/orders-repository.js';
import type { OrderBatchMessage } from '../../src/broker/messages.js';
import { topology } from '../../src/broker/topology.js';
import { mintOrderId } from '../../src/gate/order-id.js';
import { deadLetterOf, messageOf } from '../support/order-letters.js';

// the same dead letter delivered twice
let env: TestEnv;
let api: RunningApi;
let bridge: Awaited<ReturnType<typeof startBridge>> | undefined;
let sut: RunningCompensator;
let broker: Awaited<ReturnType<typeof brokerClient>>;
let db: pg.Client;
const stops: (() => Promise<void>)[] = [];

beforeAll(async () => {
  env = await createTestEnv('dlq-twice');
  api = await startApi(env.config, env.logger);
  bridge = await startBridge(env.config, env.logger);
  sut = await startTestCompensator(env);
  broker = await brokerClient(env);
  db = new pg.Client({ connectionString: env.config.database.url });
  await db.connect();
});
afterAll(async () => {
  for (const stop of stops.reverse()) await stop();
  await stopInTurn(broker, db, sut, bridge, api, env);
});

const results = async () => ({
  returned: await metric(sut.metricsPort, 'flashline_dead_letters_total', { result: 'returned' }),
  already: await metric(sut.metricsPort, 'flashline_dead_letters_total', {
    result: 'already_returned',
  }),
  confirmed: await metric(sut.metricsPort, 'flashline_dead_letters_total', {
    result: 'confirmed',
  }),
  units: await metric(sut.metricsPort, 'flashline_stock_returned_units_total'),
});

it('returns the stock once, and the returned units are buyable at once', async () => {
  const buyers = client(`http://127.0.0.1:${api.port}`, env);
  const sale = await buyers.createSale({
    sku: 'dlq-twice',
    name: 'Twice',
    stock: 5,
    perUserLimit: 2,
  });
  const saleId = sale.body.id as number;
  // No worker runs yet: the order waits in BullMQ with its reservation pending.
  const bought = await buyers.purchase(saleId, 'alice', { quantity: 2 });
  expect(bought.status).toBe(202);
  const orderId = bought.body.orderId as string;
  expect((await buyers.sale(saleId)).body.remaining).toBe(3);

  const letter = deadLetterOf(messageOf(orderId, saleId, 'alice', 2), 'test_duplicate');
  // Two copies at once: the compensator takes both before acking either.
  await broker.publishDeadLetter(letter);
  await broker.publishDeadLetter(letter);
  await waitFor(
    async () => {
      const r = await results();
      return r.returned + r.already === 2;
    },
    { what: 'both dead letters handled' },
  );
  expect(await results()).toMatchObject({ returned: 1, already: 1, units: 2 });
  expect((await buyers.sale(saleId)).body.remaining).toBe(5);

  // And once more, long after the first two were acked.
  await broker.publishDeadLetter(letter);
  await waitFor(async () => (await results()).already === 2, { what: 'third copy handled' });
  expect((await buyers.sale(saleId)).body.remaining).toBe(5);
  expect(await broker.messageCount('flashline.orders.dead')).toBe(0);

  const order = await buyers.order(orderId, 'alice');
  expect(order.body).toMatchObject({ status: 'failed', reason: 'test_duplicate', quantity: 2 });

  // The worker now meets the job: the reservation is released, so it writes nothing.
  const worker = await startWorker(env.config, env.logger);
  stops.push(worker.stop);
  const answers: Answer[] = [{ status: 202, orderId, buyer: 'alice', quantity: 2 }];
  // Fresh buyers take exactly the five units, two of which came back.
  for (const buyer of ['bob', 'carol']) {
    const answer = await buyers.purchase(saleId, buyer, { quantity: 2 });
    answers.push({ status: answer.status, orderId: answer.body.orderId, buyer, quantity: 2 });
  }
  const last = await buyers.purchase(saleId, 'dave', { quantity: 1 });
  answers.push({ status: last.status, orderId: last.body.orderId, buyer: 'dave', quantity: 1 });
  const sold = await buyers.purchase(saleId, 'erin', { quantity: 1 });
  expect(answers.map((a) => a.status)).toEqual([202, 202, 202, 202]);
  expect(sold.status).toBe(409);

  const oracle = await assertOracle(env, saleId, answers);
  expect(oracle).toMatchObject({ confirmedUnits: 5, failed: 1 });
  expect((await results()).units).toBe(2);
});

it('only finishes the reservation when a worker committed the order first', async () => {
  const buyers = client(`http://127.0.0.1:${api.port}`, env);
  const sale = await buyers.createSale({ sku: 'dlq-confirmed', name: 'Confirmed', stock: 3 });
  const saleId = sale.body.id as number;
  const gate = api.deps.gate;
  const orderId = mintOrderId(saleId);
  // Reserved at the gate, then a worker claimed and committed, died before its Redis
  // confirm, and the job failed for good: the row says confirmed, the reservation is
  // committing. (Driven by hand: a running worker would confirm it at once.)
  expect((await gate.reserve({ saleId, orderId, buyer: 'frank', quantity: 1 })).kind).toBe(
    'reserved',
  );
  expect(await gate.claim(saleId, orderId)).toBe('go');
  expect(
    await insertConfirmedOrder(api.deps.db, {
      id: orderId,
      saleId,
      userId: 'frank',
      quantity: 1,
      reservedAt: new Date(),
    }),
  ).toBe(true);
  const before = await results();
  await broker.publishDeadLetter(
    deadLetterOf(messageOf(orderId, saleId, 'frank', 1), 'attempts_exhausted'),
  );
  await waitFor(async () => (await results()).confirmed === before.confirmed + 1, {
    what: 'dead letter of a confirmed order handled',
  });
  expect((await gate.reservation(saleId, orderId))?.state).toBe('confirmed');
  expect((await buyers.sale(saleId)).body.remaining).toBe(2);
  expect((await results()).units).toBe(before.units);
  const row = await db.query('SELECT status, reason FROM orders WHERE id = $1', [orderId]);
  expect(row.rows[0]).toEqual({ status: 'confirmed', reason: null });
  await assertOracle(env, saleId, [{ status: 202, orderId, buyer: 'frank', quantity: 1 }]);
});

// Runs last: it stops the bridge, so that order messages wait in RabbitMQ until they expire.
it('compensates every order of a message of several that the broker dead-lettered', async () => {
  const buyers = client(`http://127.0.0.1:${api.port}`, env);
  const sale = await buyers.createSale({ sku: 'dlq-batch', name: 'Batch', stock: 5 });
  const saleId = sale.body.id as number;
  await bridge?.stop();
  bridge = undefined;
  await orderQueuePolicy(env, 'expire-orders', { 'message-ttl': 200 });
  const before = await results();
  const gate = api.deps.gate;
  const message: OrderBatchMessage = { orders: [] };
  for (const buyer of ['gina', 'hal', 'ivy']) {
    const orderId = mintOrderId(saleId);
    expect((await gate.reserve({ saleId, orderId, buyer, quantity: 1 })).kind).toBe('reserved');
    message.orders.push(messageOf(orderId, saleId, buyer, 1));
  }
  expect((await buyers.sale(saleId)).body.remaining).toBe(2);
  await broker.publish(topology.ordersExchange, topology.ordersRoutingKey, message);

  await waitFor(async () => (await results()).returned === before.returned + 3, {
    what: 'the three orders of the expired message compensated',
  });
  expect((await results()).units).toBe(before.units + 3);
  expect((await buyers.sale(saleId)).body.remaining).toBe(5);
  for (const { orderId, userId } of message.orders) {
    const order = await buyers.order(orderId, userId);
    expect(order.body).toMatchObject({ status: 'failed', reason: 'broker_expired' });
  }
  expect(await broker.messageCount(topology.parkedQueue)).toBe(0);
  await assertOracle(
    env,
    saleId,
    message.orders.map((o) => ({
      status: 202,
      orderId: o.orderId,
      buyer: o.userId,
      quantity: 1,
    })),
  );
});
