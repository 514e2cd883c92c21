import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from './support/env.js';
import { createDatabase, type Database } from '../src/db/client.js';
import { insertSale } from '../src/db/sales-repository.js';
import { insertFailedOrder, type OrderToWrite } from '../src/db/orders-repository.js';
import { OrderBatcher } from '../src/orders/order-batcher.js';

const order = (saleId: number, userId: string, quantity = 1): OrderToWrite => ({
  id: `${saleId}-${randomUUID()}`,
  saleId,
  userId,
  quantity,
  reservedAt: new Date(Date.now() - 1_000),
});

type DbError = { code?: string; cause?: { code?: string } };

// Settles like Promise.allSettled, keeping a rejection's SQLSTATE for the assertions
// (drizzle wraps pg's error, whose code is then on the cause).
const settle = (promises: Promise<boolean>[]) =>
  Promise.all(
    promises.map((p) =>
      p.then(
        (inserted) => ({ inserted }),
        (error: DbError) => ({ error: error.code ?? error.cause?.code ?? String(error) }),
      ),
    ),
  );

// group commit of confirmed orders
let env: TestEnv;
let db: Database;

beforeAll(async () => {
  env = await createTestEnv('batcher');
  db = createDatabase(env.config.database.url, 4);
});
afterAll(async () => {
  await db?.$client.end();
  await env?.cleanup();
});

const newSale = (stock: number, perUserLimit = 1) =>
  insertSale(db, {
    sku: `sku-${randomUUID()}`,
    name: 'batch',
    stock,
    perUserLimit,
    startsAt: new Date(Date.now() - 60_000),
    endsAt: null,
  });
const saleRow = async (id: number) =>
  (await db.$client.query('SELECT sold FROM sales WHERE id = $1', [id])).rows[0] as {
    sold: number;
  };
const rows = async (saleId: number) =>
  (
    await db.$client.query(
      'SELECT id, user_id, status, reserved_at FROM orders WHERE sale_id = $1',
      [saleId],
    )
  ).rows as { id: string; user_id: string; status: string; reserved_at: Date }[];

it('commits concurrent orders in fewer transactions than orders, each answered', async () => {
  const sut = new OrderBatcher(db, { maxBatch: 64, lingerMs: 5 });
  const sale = await newSale(100);
  const orders = Array.from({ length: 40 }, (_, i) => order(sale.id, `buyer-${i}`));

  const results = await Promise.all(orders.map((o) => sut.commit(o)));

  expect(results).toEqual(orders.map(() => true));
  expect(sut.stats.orders).toBe(40);
  expect(sut.stats.transactions).toBeLessThanOrEqual(2);
  expect((await saleRow(sale.id)).sold).toBe(40);
  const written = new Map((await rows(sale.id)).map((r) => [r.id, r]));
  for (const o of orders) {
    expect(written.get(o.id)).toMatchObject({ user_id: o.userId, status: 'confirmed' });
    expect(written.get(o.id)!.reserved_at.getTime()).toBe(o.reservedAt.getTime());
  }
  const buyers = await db.$client.query(
    'SELECT count(*)::int AS n, sum(units)::int AS units FROM sale_buyers WHERE sale_id = $1',
    [sale.id],
  );
  expect(buyers.rows[0]).toEqual({ n: 40, units: 40 });
});

it('writes an order id that appears twice in one batch once: first write wins', async () => {
  const sut = new OrderBatcher(db, { maxBatch: 64, lingerMs: 5 });
  const sale = await newSale(10, 3);
  const twice = order(sale.id, 'dup-buyer', 2);
  const other = order(sale.id, 'dup-buyer', 1);

  const results = await Promise.all([sut.commit(twice), sut.commit(twice), sut.commit(other)]);

  expect(results).toEqual([true, false, true]);
  expect((await saleRow(sale.id)).sold).toBe(3);
  expect(await rows(sale.id)).toHaveLength(2);
  const held = await db.$client.query(
    'SELECT units FROM sale_buyers WHERE sale_id = $1 AND user_id = $2',
    [sale.id, 'dup-buyer'],
  );
  expect(held.rows).toEqual([{ units: 3 }]);
});

it('leaves an order already failed by the compensator as it is', async () => {
  const sut = new OrderBatcher(db, { maxBatch: 64, lingerMs: 5 });
  const sale = await newSale(10);
  const failed = order(sale.id, 'late');
  const fresh = order(sale.id, 'fresh');
  expect(await insertFailedOrder(db, failed, 'dead_lettered')).toBe(true);

  const results = await Promise.all([sut.commit(failed), sut.commit(fresh)]);

  expect(results).toEqual([false, true]);
  expect((await saleRow(sale.id)).sold).toBe(1);
  const statuses = Object.fromEntries((await rows(sale.id)).map((r) => [r.id, r.status]));
  expect(statuses).toEqual({ [failed.id]: 'failed', [fresh.id]: 'confirmed' });
});

it('confirms the rest of a batch when guards refuse some of its orders', async () => {
  const sut = new OrderBatcher(db, { maxBatch: 64, lingerMs: 5 });
  const roomy = await newSale(100);
  const scarce = await newSale(2);
  expect(await sut.commit(order(roomy.id, 'holder'))).toBe(true);
  const transactionsBefore = sut.stats.transactions;

  const batch = [
    order(scarce.id, 's1'),
    order(roomy.id, 'r1'),
    // Over the buyer's limit: sale_buyers' CHECK refuses it.
    order(roomy.id, 'holder'),
    order(scarce.id, 's2'),
    order(roomy.id, 'r2'),
    // Beyond the stock: sales' CHECK refuses it.
    order(scarce.id, 's3'),
    // No such sale: the foreign key refuses it.
    order(987_654, 'nobody'),
  ];
  const results = await settle(batch.map((o) => sut.commit(o)));

  expect(results).toEqual([
    { inserted: true },
    { inserted: true },
    { error: '23514' },
    { inserted: true },
    { inserted: true },
    { error: '23514' },
    { error: '23503' },
  ]);
  expect(sut.stats.fallbacks).toBe(1);
  // The failed batch, then each of its seven orders on its own.
  expect(sut.stats.transactions - transactionsBefore).toBe(8);
  expect((await saleRow(roomy.id)).sold).toBe(3);
  expect((await saleRow(scarce.id)).sold).toBe(2);
  expect((await rows(scarce.id)).map((r) => r.user_id).sort()).toEqual(['s1', 's2']);
  expect((await rows(roomy.id)).map((r) => r.user_id).sort()).toEqual(['holder', 'r1', 'r2']);
});

it('writes at most maxBatch orders per transaction', async () => {
  const sut = new OrderBatcher(db, { maxBatch: 10, lingerMs: 5 });
  const sale = await newSale(1_000);
  const orders = Array.from({ length: 35 }, (_, i) => order(sale.id, `many-${i}`));

  const results = await Promise.all(orders.map((o) => sut.commit(o)));

  expect(results.every(Boolean)).toBe(true);
  expect(sut.stats.batches).toBe(4);
  expect((await saleRow(sale.id)).sold).toBe(35);
});
