import { afterAll, beforeAll, expect, it } from 'vitest';
import pg from 'pg';
import { waitFor, type TestEnv } from './support/env.js';
import { type Client, type System, openSystem, closeSystem } from './support/system.js';
import { assertOracle, type Answer } from './support/oracle.js';
import { brokerClient, metric } from './support/failures.js';
import { soldOf } from './support/sales.js';
import { createOrderQueues } from '../src/orders/queue.js';
import { createBullRedis } from '../src/redis/connection.js';
import { topology } from '../src/broker/topology.js';
import { processOrder, type ProcessorDeps } from '../src/orders/processor.js';
import { insertConfirmedOrder } from '../src/db/orders-repository.js';
import { mintOrderId } from '../src/gate/order-id.js';
import { messageOf } from './support/order-letters.js';
import type { OrderMessage } from '../src/broker/messages.js';

// The original system's worker took stock twice for a redelivered message. Here a message
// delivered again, a job run twice at once, and a job re-run after a crash between its
// commit and its confirm all write the order once.
// an order delivered or run more than once
let env: TestEnv;
let sut: System;
let api: Client;
let db: pg.Client;
let deps: ProcessorDeps;

beforeAll(async () => {
  ({ env, sut, api } = await openSystem('redelivery'));
  db = new pg.Client({ connectionString: env.config.database.url });
  await db.connect();
  deps = {
    gate: sut.api.deps.gate,
    restorer: sut.api.deps.gate,
    db: sut.api.deps.db,
    logger: env.logger,
    deadLetter: () => Promise.reject(new Error('no order here should fail')),
  };
});
afterAll(async () => {
  await db?.end();
  await closeSystem(sut, env);
});

const newSale = async (sku: string, stock: number) =>
  (await api.createSale({ sku, name: sku, stock, perUserLimit: 2 })).body.id as number;
const rowsOf = async (orderId: string) =>
  (await db.query('SELECT status FROM orders WHERE id = $1', [orderId])).rows;

it('writes a message that reaches the broker again once, even after its job is gone', async () => {
  const saleId = await newSale('redelivered', 5);
  const bought = await api.purchase(saleId, 'ann');
  expect(bought.status).toBe(202);
  const orderId = bought.body.orderId as string;
  await waitFor(async () => (await rowsOf(orderId))[0]?.status === 'confirmed');
  const reservation = await sut.api.deps.gate.reservation(saleId, orderId);

  const message: OrderMessage = {
    orderId,
    saleId,
    userId: 'ann',
    quantity: 1,
    reservedAt: reservation!.reservedAt.toISOString(),
  };
  const forwarded = () => metric(sut.bridge.metricsPort, 'flashline_bridge_forwarded_total');
  const jobsDone = () =>
    metric(sut.worker.metricsPort, 'flashline_jobs_total', { outcome: 'completed' });
  const broker = await brokerClient(env);
  const connection = createBullRedis(env.config);
  const queue = createOrderQueues(env.config, connection);
  try {
    // Once while its finished job is still kept (the add is a no-op)...
    const before = await forwarded();
    await broker.publish(topology.ordersExchange, topology.ordersRoutingKey, message);
    await waitFor(async () => (await forwarded()) > before, { what: 'the bridge to take it' });
    // ...and once after the job was removed, so a new job really runs.
    await queue.queueOf(orderId).remove(orderId);
    const ran = await jobsDone();
    await broker.publish(topology.ordersExchange, topology.ordersRoutingKey, message);
    await waitFor(async () => (await jobsDone()) > ran, { what: 'the second job to finish' });
  } finally {
    await broker.close();
    await queue.close();
    connection.disconnect();
  }
  expect(await rowsOf(orderId)).toEqual([{ status: 'confirmed' }]);
  expect(await soldOf(db, saleId)).toBe(1);
  await assertOracle(env, saleId, [{ status: 202, orderId, buyer: 'ann', quantity: 1 }]);
});

it('writes an order once when two workers run its job at the same moment', async () => {
  const saleId = await newSale('raced', 5);
  const orderId = mintOrderId(saleId);
  const reserved = await sut.api.deps.gate.reserve({
    saleId,
    orderId,
    buyer: 'bob',
    quantity: 2,
  });
  expect(reserved.kind).toBe('reserved');
  const message = messageOf(orderId, saleId, 'bob', 2);
  const outcomes = await Promise.all([processOrder(deps, message), processOrder(deps, message)]);
  expect(outcomes.sort()).toEqual(['already_confirmed', 'confirmed']);
  expect(await soldOf(db, saleId)).toBe(2);
  const answers: Answer[] = [{ status: 202, orderId, buyer: 'bob', quantity: 2 }];
  await assertOracle(env, saleId, answers);
});

it('finishes a job that crashed after its commit and before its confirm, writing nothing twice', async () => {
  const saleId = await newSale('crashed', 5);
  const orderId = mintOrderId(saleId);
  await sut.api.deps.gate.reserve({ saleId, orderId, buyer: 'cat', quantity: 1 });
  const message = messageOf(orderId, saleId, 'cat', 1);
  // The first run: claimed and committed, then the process died.
  expect(await sut.api.deps.gate.claim(saleId, orderId)).toBe('go');
  expect(
    await insertConfirmedOrder(sut.api.deps.db, {
      id: orderId,
      saleId,
      userId: 'cat',
      quantity: 1,
      reservedAt: new Date(message.reservedAt),
    }),
  ).toBe(true);
  expect((await sut.api.deps.gate.reservation(saleId, orderId))?.state).toBe('committing');

  expect(await processOrder(deps, message)).toBe('already_confirmed');
  expect((await sut.api.deps.gate.reservation(saleId, orderId))?.state).toBe('confirmed');
  expect(await soldOf(db, saleId)).toBe(1);
  await assertOracle(env, saleId, [{ status: 202, orderId, buyer: 'cat', quantity: 1 }]);
});
