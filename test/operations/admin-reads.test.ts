import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitFor, type TestEnv } from '../support/env.js';
import { type Client, type System, openSystem, closeSystem } from '../support/system.js';
import { assertOracle } from '../support/oracle.js';
import { adminOf } from '../support/admin.js';
import { buyersNamed, buyOnce } from '../support/buyers.js';

// GET /admin/sales and GET /admin/sales/:saleId (API.md, Operating a sale): pages newest
// first, and one sale's live counts by order status, kept by the orders' trigger.
// the admin reads
let env: TestEnv;
let sut: System;
let api: Client;
let admin: ReturnType<typeof adminOf>;
let db: pg.Client;

beforeAll(async () => {
  ({ env, sut, api } = await openSystem('admin-reads'));
  admin = adminOf(api, env);
  db = new pg.Client({ connectionString: env.config.database.url });
  await db.connect();
});
afterAll(async () => {
  await db?.end();
  await closeSystem(sut, env);
});

it('pages through every sale newest first, and refuses a bad page or no credentials', async () => {
  const ids: number[] = [];
  for (let i = 0; i < 5; i++) {
    const created = await api.createSale({ sku: `list-${i}`, name: `List ${i}`, stock: 3 });
    ids.push(created.body.id as number);
  }
  const seen: number[] = [];
  let cursor: string | null = null;
  do {
    const page = await admin.list(`?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
    expect(page.status).toBe(200);
    expect(page.body.sales.length).toBeLessThanOrEqual(2);
    seen.push(...(page.body.sales as { id: number }[]).map((s) => s.id));
    cursor = page.body.nextCursor as string | null;
  } while (cursor !== null);
  expect(seen).toEqual([...ids].reverse());
  const first = await admin.list();
  expect(first.body.sales[0]).toMatchObject({
    id: ids[4],
    stock: 3,
    remaining: 3,
    paused: false,
  });
  expect(first.body.nextCursor).toBeNull();
  for (const bad of ['?limit=0', '?limit=201', '?limit=x', '?cursor=abc', '?other=1']) {
    const refused = await admin.list(bad);
    expect(refused.status, bad).toBe(400);
    expect(refused.body.error.code).toBe('BAD_REQUEST');
  }
  expect((await api.raw('GET', '/admin/sales', {})).status).toBe(401);
  expect((await api.raw('GET', `/admin/sales/${ids[0]}`, {})).status).toBe(401);
  expect((await admin.sale(999_999)).status).toBe(404);
});

it('counts a sale orders by status as they change, equal to the orders table', async () => {
  const created = await api.createSale({ sku: 'counts', name: 'Counts', stock: 7 });
  const saleId = created.body.id as number;
  const empty = await admin.sale(saleId);
  expect(empty.body.orders).toEqual({
    pending: 0,
    confirmed: 0,
    paid: 0,
    expired: 0,
    cancelled: 0,
    failed: 0,
  });
  // All twelve at once.
  const answers = await buyOnce(api, saleId, buyersNamed('counter', 12), 12);
  await assertOracle(env, saleId, answers);
  await waitFor(async () => (await admin.sale(saleId)).body.orders.confirmed === 7, {
    timeoutMs: 10_000,
    what: 'seven confirmed orders counted',
  });
  // Moves made in PostgreSQL, as the payment paths do, in single and multi-row statements.
  await db.query(
    `UPDATE orders SET status = 'failed' WHERE id IN
       (SELECT id FROM orders WHERE sale_id = $1 ORDER BY id LIMIT 2)`,
    [saleId],
  );
  await db.query(
    `UPDATE orders SET status = 'confirmed' WHERE id IN
       (SELECT id FROM orders WHERE sale_id = $1 AND status = 'failed' LIMIT 1)`,
    [saleId],
  );
  const truth = await db.query<{ status: string; n: string }>(
    'SELECT status, count(*) AS n FROM orders WHERE sale_id = $1 GROUP BY 1',
    [saleId],
  );
  const expected = Object.fromEntries(truth.rows.map((r) => [r.status, Number(r.n)]));
  const read = await admin.sale(saleId);
  expect(read.status).toBe(200);
  expect(read.body).toMatchObject({ id: saleId, stock: 7, remaining: 0, paused: false });
  expect(read.body.orders).toMatchObject({ confirmed: 6, failed: 1, ...expected });
});
