import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestEnv } from './support/env.js';
import {
  client,
  groupByStatus,
  pool,
  type System,
  openSystem,
  closeSystem,
} from './support/system.js';
import { assertOracle, type Answer } from './support/oracle.js';

describe('a flash sale end to end', () => {
  let env: TestEnv;
  let sut: System;

  beforeAll(async () => {
    ({ env, sut } = await openSystem('e2e'));
  });
  afterAll(async () => {
    await closeSystem(sut, env);
  });

  it('sells exactly 200 units to 1,000 buyers pressing buy twice at once', async () => {
    const api = client(sut.baseUrl, env);
    const created = await api.createSale({ sku: 'e2e-200', name: 'Two hundred', stock: 200 });
    expect(created.status).toBe(201);
    const saleId = created.body.id as number;

    const buyers = Array.from({ length: 1000 }, (_, i) => `buyer-${i}`);
    // Each buyer's two presses are adjacent, so both are in flight together.
    const tasks = buyers.flatMap((buyer) =>
      [0, 1].map(() => async (): Promise<Answer> => {
        const answer = await api.purchase(saleId, buyer);
        return { status: answer.status, orderId: answer.body?.orderId, buyer, quantity: 1 };
      }),
    );
    const answers = await pool(tasks, 128);

    const byStatus = groupByStatus(answers);
    expect(Object.keys(byStatus).sort()).toEqual(['202', '409']);
    expect(byStatus['202']).toHaveLength(200);

    const result = await assertOracle(env, saleId, answers);
    expect(result.confirmedUnits).toBe(200);
    expect(result.failed).toBe(0);

    const sale = await api.sale(saleId);
    expect(sale.body).toMatchObject({ stock: 200, remaining: 0, soldOut: true });
    const first = byStatus['202']![0]!;
    const order = await api.order(first.orderId!, first.buyer);
    expect(order.body).toMatchObject({ orderId: first.orderId, status: 'confirmed', quantity: 1 });
  });
});
