import { expect } from 'vitest';
import type { TestEnv } from './env.js';
import { groupByStatus, pool, type Client } from './system.js';
import { assertOracle, type Answer } from './oracle.js';
import { adminOf } from './admin.js';

const press = async (api: Client, saleId: number, buyer: string): Promise<Answer> => {
  const answer = await api.purchase(saleId, buyer);
  return { status: answer.status, orderId: answer.body?.orderId, buyer, quantity: 1 };
};

const buyEach = (api: Client, saleId: number, buyers: string[]) =>
  pool(
    buyers.map((buyer) => () => press(api, saleId, buyer)),
    16,
  );

const named = (tag: string, count: number) =>
  Array.from({ length: count }, (_, i) => `${tag}-${i}`);

// Units taken back and added mid-sale (API.md, Operating a sale: PATCH stock), with the core
// oracle at the end: a take-back below what is sold or held is refused and changes nothing,
// one above it leaves exactly the difference on sale, and added units (over shards: spread
// over them) are sold to the last one, a sold-out sale reopening.
export async function restockAndTakeBack(api: Client, env: TestEnv, sku: string, shards: number) {
  const admin = adminOf(api, env, 'warehouse');
  const created = await api.createSale({ sku, name: 'Stock', stock: 20, shards });
  const saleId = created.body.id as number;
  const answers = await buyEach(api, saleId, named(`${sku}-a`, 12));
  expect(groupByStatus(answers)['202']).toHaveLength(12);

  const refused = await admin.change(saleId, { stock: 10 });
  expect(refused.status).toBe(409);
  expect(refused.body.error.code).toBe('STOCK_IN_USE');
  expect((await api.sale(saleId)).body).toMatchObject({ stock: 20, remaining: 8 });

  const takenBack = await admin.change(saleId, { stock: 14 });
  expect(takenBack.status, JSON.stringify(takenBack.body)).toBe(200);
  expect(takenBack.body).toMatchObject({ stock: 14, remaining: 2 });
  const last = await buyEach(api, saleId, named(`${sku}-b`, 5));
  expect(groupByStatus(last)['202']).toHaveLength(2);
  expect(groupByStatus(last)['409']?.map((a) => a.status)).toHaveLength(3);
  expect((await api.sale(saleId)).body).toMatchObject({ stock: 14, remaining: 0, soldOut: true });

  const added = await admin.change(saleId, { stock: 20 });
  expect(added.body).toMatchObject({ stock: 20, remaining: 6, soldOut: false });
  const reopened = await buyEach(api, saleId, named(`${sku}-c`, 8));
  expect(groupByStatus(reopened)['202']).toHaveLength(6);

  const result = await assertOracle(env, saleId, [...answers, ...last, ...reopened]);
  expect(result).toMatchObject({ confirmedUnits: 20, failed: 0 });
  const read = await admin.sale(saleId);
  expect(read.body).toMatchObject({ stock: 20, remaining: 0, orders: { confirmed: 20 } });
  return saleId;
}

// A take-back racing a crowd: whether it lands (200) or not (409 STOCK_IN_USE), no accepted
// order is refused by PostgreSQL afterwards, and the oracle holds at the stock as last set.
export async function takeBackUnderFire(api: Client, env: TestEnv, sku: string, shards: number) {
  const admin = adminOf(api, env);
  const created = await api.createSale({ sku, name: 'Race', stock: 60, shards });
  const saleId = created.body.id as number;
  const crowd = buyEach(api, saleId, named(`${sku}-r`, 90));
  await new Promise((resolve) => setTimeout(resolve, 20));
  const change = await admin.change(saleId, { stock: 30 });
  const answers = await crowd;
  expect([200, 409]).toContain(change.status);
  console.info(`take-back under fire (${shards} shards): ${change.status}`);
  const stock = change.status === 200 ? 30 : 60;
  const accepted = groupByStatus(answers)['202'] ?? [];
  expect(accepted.length).toBe(stock);
  const result = await assertOracle(env, saleId, answers);
  expect(result).toMatchObject({ confirmedUnits: stock, failed: 0 });
  return change.status;
}
