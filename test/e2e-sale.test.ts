import { describe, expect, it } from 'vitest';
import { groupByStatus } from './support/system.js';
import { useSystem } from './support/use-system.js';
import { assertOracle } from './support/oracle.js';
import { buyersNamed, buyOnce } from './support/buyers.js';

describe('a flash sale end to end', () => {
  const system = useSystem('e2e');

  it('sells exactly 200 units to 1,000 buyers pressing buy twice at once', async () => {
    const { env, api } = system;
    const created = await api.createSale({ sku: 'e2e-200', name: 'Two hundred', stock: 200 });
    expect(created.status).toBe(201);
    const saleId = created.body.id as number;

    // Each buyer's two presses are adjacent, so both are in flight together.
    const presses = buyersNamed('buyer', 1000).flatMap((buyer) => [buyer, buyer]);
    const answers = await buyOnce(api, saleId, presses, 128);

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
