import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor, type TestEnv } from '../support/env.js';
import type { Client, System } from '../support/system.js';
import { assertOracle } from '../support/oracle.js';
import { expectError, startContractSystem, stockState } from '../support/contract.js';

// The contract of API.md for GET /orders/:orderId, the operations routes and the answers
// while a dependency is away. The last tests take the API's RabbitMQ and Redis away, so
// they run last.
let env: TestEnv;
let sut: System;
let api: Client;
let openSaleId: number;
let createOpenSale: (sku: string, stock: number, perUserLimit?: number) => Promise<number>;

beforeAll(async () => {
  ({ env, sut, api, openSaleId, createOpenSale } = await startContractSystem('contract-orders'));
});
afterAll(async () => {
  await sut?.stop();
  await env?.cleanup();
});

describe('GET /orders/:orderId', () => {
  it('200 for the buyer who placed it', async () => {
    const placed = await api.purchase(openSaleId, 'o-200');
    const order = await waitFor(async () => {
      const o = await api.order(placed.body.orderId, 'o-200');
      return o.body.status === 'confirmed' && o;
    });
    expect(order.status).toBe(200);
    expect(order.body).toEqual({
      orderId: placed.body.orderId,
      saleId: openSaleId,
      userId: 'o-200',
      quantity: 1,
      status: 'confirmed',
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
  });

  it('400 for a malformed id, 401 without a token, 404 ORDER_NOT_FOUND', async () => {
    expectError(await api.order('not-an-order', 'o-x'), 400, 'BAD_REQUEST');
    const placed = await api.purchase(openSaleId, 'o-owner');
    const path = `/orders/${placed.body.orderId}`;
    expectError(await api.raw('GET', path, {}), 401, 'UNAUTHORIZED');
    expectError(
      await api.order(`${openSaleId}-00000000-0000-4000-8000-000000000000`, 'o-x'),
      404,
      'ORDER_NOT_FOUND',
    );
    expectError(await api.order(placed.body.orderId, 'o-someone-else'), 404, 'ORDER_NOT_FOUND');
  });
});

describe('operations', () => {
  it('GET /healthz 200, GET /readyz 200 while everything answers, GET /metrics', async () => {
    expect((await api.raw('GET', '/healthz', {})).status).toBe(200);
    const ready = await api.raw('GET', '/readyz', {});
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({
      status: 'ready',
      checks: { redis: true, postgres: true, rabbitmq: true },
    });
    const metrics = await api.raw('GET', '/metrics', {});
    expect(metrics.status).toBe(200);
    expect(String(metrics.body)).toContain('flashline_http_requests_total');
  });

  it('an unknown route is a 404 with the contract body', async () => {
    expectError(await api.raw('GET', '/nope', {}), 404, 'NOT_FOUND');
  });
});

describe('with a dependency away', () => {
  it('503 UNAVAILABLE with nothing reserved when RabbitMQ is away; /readyz 503', async () => {
    const saleId = await createOpenSale('contract-503', 10, 1);
    const before = await stockState(env, [saleId]);
    await sut.api.deps.broker.close();

    const answer = await api.purchase(saleId, 'p-503', { quantity: 1 }, { 'idempotency-key': 'k' });
    expectError(answer, 503, 'UNAVAILABLE');
    const after = await stockState(env, [saleId]);
    expect(after.redis[saleId]).toEqual(before.redis[saleId]);
    expect(after.orders).toBe(before.orders);

    const ready = await api.raw('GET', '/readyz', {});
    expectError({ ...ready, body: { error: ready.body.error } }, 503, 'UNAVAILABLE');
    expect(ready.body.checks).toEqual({ redis: true, postgres: true, rabbitmq: false });
    await assertOracle(env, saleId, [{ status: 503, buyer: 'p-503', quantity: 1 }]);
  });

  it('503 UNAVAILABLE when the gate cannot load a new sale (Redis away)', async () => {
    sut.api.deps.redis.disconnect();
    const created = await api.createSale({ sku: 'contract-503-redis', name: 'r', stock: 1 });
    expectError(created, 503, 'UNAVAILABLE');
    expectError(await api.purchase(openSaleId, 'p-503-redis'), 503, 'UNAVAILABLE');
    const ready = await api.raw('GET', '/readyz', {});
    expect(ready.status).toBe(503);
    expect(ready.body.checks).toMatchObject({ redis: false, postgres: true });
  });
});
