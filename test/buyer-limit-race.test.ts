import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestEnv, waitFor, type TestEnv } from './support/env.js';
import { createDatabase, type Database } from '../src/db/client.js';
import { insertSale } from '../src/db/sales-repository.js';
import { insertConfirmedOrder, type OrderToWrite } from '../src/db/orders-repository.js';
import { changeSaleSettings } from '../src/db/sale-admin-repository.js';

// PostgreSQL's per-buyer backstop against an admin's change committed while the order's write
// waited for the sale's row. In CI a slow worker wrote the orders a buyer was accepted for
// under a limit of 3 while the admin lowered it to 1: the second was refused (23514,
// dead-lettered, the order never settled) with a unit_limit of 1.
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
  const sale = await insertSale(db, {
    sku: `sku-${randomUUID()}`,
    name: 'limit race',
    stock: 10,
    perUserLimit: 3,
    startsAt: new Date(Date.now() - 60_000),
    endsAt: null,
  });
  const accepted = [order(sale.id, 'early'), order(sale.id, 'early')];
  let writes: Promise<boolean[]> | undefined;
  await changeSaleSettings(
    db,
    sale.id,
    { actor: 'test', action: 'update' },
    {
      decide: (row) => ({
        stock: row.stock,
        perUserLimit: 1,
        endsAt: row.endsAt,
        paused: row.paused,
      }),
      // The change is written and the row locked: both writes start now and wait for it.
      beforeCommit: async () => {
        writes = Promise.all(accepted.map((o) => insertConfirmedOrder(db, o)));
        await waitFor(async () => (await waitingForLocks()) >= 2, {
          timeoutMs: 10_000,
          intervalMs: 20,
          what: 'both writes to wait for the sale row',
        });
      },
    },
  );
  expect(await writes).toEqual([true, true]);
  const buyer = await db.$client.query(
    'SELECT units, unit_limit FROM sale_buyers WHERE sale_id = $1 AND user_id = $2',
    [sale.id, 'early'],
  );
  expect(buyer.rows).toEqual([{ units: 2, unit_limit: 3 }]);
});
