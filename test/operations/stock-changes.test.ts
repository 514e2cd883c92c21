import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createTestEnv, type TestEnv } from '../support/env.js';
import { client, startSystem, type Client, type System } from '../support/system.js';
import { restockAndTakeBack, takeBackUnderFire } from '../support/stock-changes.js';

// PATCH stock on one Redis (the cluster run's cluster when there is one), for a sale without
// shards and one over shards; test/cluster/cluster-stock-changes.test.ts runs the same on a
// Redis Cluster of its own.
describe('units added and taken back mid-sale', () => {
  let env: TestEnv;
  let sut: System;
  let api: Client;

  beforeAll(async () => {
    env = await createTestEnv('stock-changes');
    sut = await startSystem(env);
    api = client(sut.baseUrl, env);
  });
  afterAll(async () => {
    await sut?.stop();
    await env?.cleanup();
  });

  it('takes back and adds units of a sale without shards, recording who and what', async () => {
    const saleId = await restockAndTakeBack(api, env, 'stock-plain', 1);
    const db = new pg.Client({ connectionString: env.config.database.url });
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
    await restockAndTakeBack(api, env, 'stock-sharded', 4);
  });

  it('takes back units while a crowd buys, on a sale without shards and over shards', async () => {
    for (const shards of [1, 4]) await takeBackUnderFire(api, env, `stock-race-${shards}`, shards);
  });

  it('refuses a change it cannot read, changing nothing', async () => {
    const created = await api.createSale({ sku: 'stock-bad', name: 'Bad', stock: 5 });
    const saleId = created.body.id as number;
    const admin = { authorization: `Bearer ${env.config.auth.adminToken}` };
    const json = { ...admin, 'content-type': 'application/json' };
    for (const body of [
      {},
      { stock: 0 },
      { stock: 2.5 },
      { perUserLimit: 0 },
      { endsAt: 'x' },
      { other: 1 },
    ]) {
      const refused = await api.raw('PATCH', `/admin/sales/${saleId}`, json, body);
      expect(refused.status, JSON.stringify(body)).toBe(400);
    }
    expect((await api.raw('PATCH', `/admin/sales/${saleId}`, {}, { stock: 9 })).status).toBe(401);
    expect((await api.raw('PATCH', '/admin/sales/999999', json, { stock: 9 })).status).toBe(404);
    expect((await api.sale(saleId)).body).toMatchObject({ stock: 5, remaining: 5 });
  });
});
