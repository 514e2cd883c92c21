import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestEnv, waitFor, type TestEnv } from './support/env.js';
import { createDatabase, type Database } from '../src/db/client.js';
import { insertSale } from '../src/db/sales-repository.js';
import { insertConfirmedOrder, type OrderToWrite } from '../src/db/orders-repository.js';
import { changeSaleSettings } from '../src/db/sale-admin-repository.js';

// PostgreSQL's per-buyer backstop holds a buyer to the highest limit the sale has had, so the
// orders the gate accepted before an admin lowered the limit commit. In CI a slow worker's
// batch raced the change and failed, and its orders were written one by one: the second was
// refused (23514, dead-lettered, never settled) with a unit_limit of 1, because the one-by-one
// write looked the history up by the change's own id (src/db/orders-repository.ts).
let env: TestEnv;
let db: Database;

beforeAll(async () => {
  env = await createTestEnv('limitrace');
  db = createDatabase(env.config.database.url, 6);
});
afterAll(async () => {
  await db?.$client.end();
  await env?.cleanup();
});

const order = (saleId: number, userId: string): OrderToWrite => ({
  id: `${saleId}-${randomUUID()}`,
  saleId,
  userId,
  quantity: 1,
  reservedAt: new Date(Date.now() - 1_000),
});

const newSale = () =>
  insertSale(db, {
    sku: `sku-${randomUUID()}`,
    name: 'limit',
    stock: 10,
    perUserLimit: 3,
    startsAt: new Date(Date.now() - 60_000),
    endsAt: null,
  });

const lowerTo = (saleId: number, perUserLimit: number, beforeCommit = async () => {}) =>
  changeSaleSettings(
    db,
    saleId,
    { actor: 'test', action: 'update' },
    {
      decide: (row) => ({ stock: row.stock, perUserLimit, endsAt: row.endsAt, paused: row.paused }),
      beforeCommit,
    },
  );

const buyerRow = async (saleId: number) =>
  (
    await db.$client.query(
      'SELECT units, unit_limit FROM sale_buyers WHERE sale_id = $1 AND user_id = $2',
      [saleId, 'early'],
    )
  ).rows;

// The sale's id is not the change's: the history is found by the sale, not by chance.
it('writes one by one the orders accepted before a lowered limit', async () => {
  await newSale();
  const sale = await newSale();
  await lowerTo(sale.id, 1);
  const accepted = [order(sale.id, 'early'), order(sale.id, 'early')];
  const written = [];
  for (const o of accepted) written.push(await insertConfirmedOrder(db, o));
  expect(written).toEqual([true, true]);
  expect(await buyerRow(sale.id)).toEqual([{ units: 2, unit_limit: 3 }]);
});

// Writes that are waiting for a row lock, seen from PostgreSQL.
const waitingForLocks = async () =>
  Number(
    (
      await db.$client.query<{ n: string }>(
        `SELECT count(*) AS n FROM pg_stat_activity
         WHERE datname = current_database() AND wait_event_type = 'Lock'`,
      )
    ).rows[0]?.n ?? 0,
  );

it('commits the orders accepted before a lowered limit that waited for its commit', async () => {
  const sale = await newSale();
  const accepted = [order(sale.id, 'early'), order(sale.id, 'early')];
  let writes: Promise<boolean[]> | undefined;
  // The change is written and the row locked: both writes start now and wait for it.
  await lowerTo(sale.id, 1, async () => {
    writes = Promise.all(accepted.map((o) => insertConfirmedOrder(db, o)));
    await waitFor(async () => (await waitingForLocks()) >= 2, {
      timeoutMs: 10_000,
      intervalMs: 20,
      what: 'both writes to wait for the sale row',
    });
  });
  expect(await writes).toEqual([true, true]);
  expect(await buyerRow(sale.id)).toEqual([{ units: 2, unit_limit: 3 }]);
});
