import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from './support/env.js';
import { createDatabase, type Database } from '../src/db/client.js';
import { insertSale } from '../src/db/sales-repository.js';
import { findOrder, type OrderToWrite } from '../src/db/orders-repository.js';
import { Gate, gateOptions } from '../src/gate/gate.js';
import { mintOrderId } from '../src/gate/order-id.js';
import { compensateOrder } from '../src/compensator/compensate.js';
import { createRedis, type RedisClient } from '../src/redis/connection.js';
import { gateProbe } from './support/gate-probe.js';

// The compensator's step for a dead letter, against a real PostgreSQL and Redis: the order is
// failed first, then its reservation finished with its units back.
// compensating an order that failed for good
let env: TestEnv;
let db: Database;
let redis: RedisClient;
let gate: Gate;

beforeAll(async () => {
  env = await createTestEnv('compensate');
  db = createDatabase(env.config.database.url, 2);
  redis = createRedis(env.config);
  gate = new Gate(redis, gateOptions(env.config));
});
afterAll(async () => {
  redis?.disconnect();
  await db?.$client.end();
  await env?.cleanup();
});

const newSale = async (stock: number) => {
  const sale = await insertSale(db, {
    sku: `sku-${randomUUID()}`,
    name: 'compensate',
    stock,
    perUserLimit: 2,
    startsAt: new Date(Date.now() - 60_000),
    endsAt: null,
  });
  await gate.loadSale({
    id: sale.id,
    stock,
    perUserLimit: 2,
    startsAt: sale.startsAt,
    endsAt: null,
  });
  return sale.id;
};
const orderOf = (saleId: number, userId: string): OrderToWrite => ({
  id: mintOrderId(saleId),
  saleId,
  userId,
  quantity: 1,
  reservedAt: new Date(Date.now() - 1_000),
});
const deps = () => ({ db, gate, logger: env.logger });

it('returns a held reservation once and leaves its tombstone', async () => {
  const saleId = await newSale(5);
  const order = orderOf(saleId, 'held');
  const reserved = await gate.reserve({
    saleId,
    orderId: order.id,
    buyer: order.userId,
    quantity: 1,
  });
  expect(reserved.kind).toBe('reserved');
  expect(await gate.remaining(saleId)).toBe(4);

  expect(await compensateOrder(deps(), order, 'job_failed')).toEqual({
    kind: 'returned',
    units: 1,
  });
  expect(await compensateOrder(deps(), order, 'job_failed')).toEqual({
    kind: 'already_returned',
  });
  expect((await findOrder(db, order.id))?.status).toBe('failed');
  expect((await gate.reservation(saleId, order.id))?.state).toBe('released');
  expect(await gate.remaining(saleId)).toBe(5);
});

// A failover to a lagging replica forgets reservations the old primary held: the order
// still ends failed with a tombstone, nothing returned (its units went with the loss).
it('leaves a tombstone for a reservation Redis forgot, returning nothing', async () => {
  const saleId = await newSale(5);
  const order = orderOf(saleId, 'forgotten');

  expect(await compensateOrder(deps(), order, 'connection_lost')).toEqual({
    kind: 'already_returned',
  });
  expect((await findOrder(db, order.id))?.status).toBe('failed');
  const reservation = await gate.reservation(saleId, order.id);
  expect(reservation?.state, 'the reservation is a tombstone').toBe('released');
  expect(await gate.remaining(saleId)).toBe(5);
  expect(await gateProbe(redis, env.config.redis.prefix).heldBy(saleId, 'forgotten')).toBe(0);
  // A late job for it finds it finished and writes nothing.
  expect(await gate.claim(saleId, order.id)).toBe('gone');
});
