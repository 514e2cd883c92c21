import { expect, it } from 'vitest';
import pg from 'pg';
import { useSystem } from '../support/use-system.js';
import { restockAndTakeBack, takeBackUnderFire } from '../support/stock-changes.js';
import { assertOracle, type Answer } from '../support/oracle.js';
import { adminOf } from '../support/admin.js';

// PATCH stock on one Redis (the cluster run's cluster when there is one), for a sale without
// shards and one over shards; test/cluster/cluster-stock-changes.test.ts runs the same on a
// Redis Cluster of its own.
// units added and taken back mid-sale
const system = useSystem('stock-changes');

it('takes back and adds units of a sale without shards, recording who and what', async () => {
  const saleId = await restockAndTakeBack(system.api, system.env, 'stock-plain', 1);
  const db = new pg.Client({ connectionString: system.env.config.database.url });
  await db.connect();
  try {
    const audit = await db.query(
      'SELECT actor, action, before, after FROM sale_changes WHERE sale_id = $1 ORDER BY id',
      [saleId],
    );
    expect(audit.rows.map((r) => [r.actor, r.action, r.before.stock, r.after.stock])).toEqual([
      ['warehouse', 'update', 20, 14],
      ['warehouse', 'update', 14, 20],
    ]);
  } finally {
    await db.end();
  }
});

it('takes back and adds units of a sale over 4 shards', async () => {
  await restockAndTakeBack(system.api, system.env, 'stock-sharded', 4);
});

it('takes back units while a crowd buys, on a sale without shards and over shards', async () => {
  for (const shards of [1, 4])
    await takeBackUnderFire(system.api, system.env, `stock-race-${shards}`, shards);
});

// Lowered, it refuses buyers at the new limit; raised again, a buyer first sold under the
// lower one may buy up to the higher, and PostgreSQL's own limit agrees (no order fails).
it('lowers and raises the per-user limit mid-sale, over 1 and 3 shards', async () => {
  for (const shards of [1, 3]) {
    const created = await system.api.createSale({
      sku: `limit-${shards}`,
      name: 'Limit',
      stock: 50,
      perUserLimit: 3,
      shards,
    });
    const saleId = created.body.id as number;
    const answers: Answer[] = [];
    const buy = async (buyer: string, status: number) => {
      const answer = await system.api.purchase(saleId, buyer);
      expect(answer.status, `${buyer} (${shards} shards)`).toBe(status);
      answers.push({ status: answer.status, orderId: answer.body?.orderId, buyer, quantity: 1 });
    };
    await buy('early', 202);
    await buy('early', 202);
    const admin = adminOf(system.api, system.env);
    expect((await admin.change(saleId, { perUserLimit: 1 })).body.perUserLimit).toBe(1);
    await buy('early', 409);
    await buy('late', 202);
    await buy('late', 409);
    expect((await admin.change(saleId, { perUserLimit: 3 })).body.perUserLimit).toBe(3);
    await buy('early', 202);
    await buy('late', 202);
    await buy('late', 202);
    await buy('late', 409);
    const result = await assertOracle(system.env, saleId, answers);
    expect(result).toMatchObject({ confirmedUnits: 6, failed: 0 });
  }
});

it('refuses a change it cannot read, changing nothing', async () => {
  const created = await system.api.createSale({ sku: 'stock-bad', name: 'Bad', stock: 5 });
  const saleId = created.body.id as number;
  const admin = { authorization: `Bearer ${system.env.config.auth.adminToken}` };
  const json = { ...admin, 'content-type': 'application/json' };
  for (const body of [
    {},
    { stock: 0 },
    { stock: 2.5 },
    { perUserLimit: 0 },
    { endsAt: 'x' },
    { other: 1 },
  ]) {
    const refused = await system.api.raw('PATCH', `/admin/sales/${saleId}`, json, body);
    expect(refused.status, JSON.stringify(body)).toBe(400);
  }
  expect((await system.api.raw('PATCH', `/admin/sales/${saleId}`, {}, { stock: 9 })).status).toBe(
    401,
  );
  expect((await system.api.raw('PATCH', '/admin/sales/999999', json, { stock: 9 })).status).toBe(
    404,
  );
  expect((await system.api.sale(saleId)).body).toMatchObject({ stock: 5, remaining: 5 });
});
