import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor, type TestEnv } from '../support/env.js';
import { pool, type Client, type System } from '../support/system.js';
import { assertOracle, type Answer } from '../support/oracle.js';
import { expectError, sendRaw, startContractSystem, stockState } from '../support/contract.js';
import { signBuyerToken } from '../../src/auth/jwt.js';

const hour = 3600_000;
const iso = (offsetMs: number) => new Date(Date.now() + offsetMs).toISOString();

// Every status code API.md lists, for the admin and purchase endpoints, against the real
// pipeline with its default configuration (rate limit 20 per buyer and sale, refilled at 10
// per second). test/api/contract-orders.test.ts has the order, operations and outage codes.
let env: TestEnv;
let sut: System;
let api: Client;
let openSaleId: number;
let createOpenSale: (sku: string, stock: number, perUserLimit?: number) => Promise<number>;

beforeAll(async () => {
  ({ env, sut, api, openSaleId, createOpenSale } = await startContractSystem('contract'));
});
afterAll(async () => {
  await sut?.stop();
  await env?.cleanup();
});

describe('POST /admin/sales', () => {
  it('201 with the sale object, durable in PostgreSQL and loaded into Redis', async () => {
    const startsAt = iso(-1000);
    const endsAt = iso(hour);
    const created = await api.createSale({
      sku: 'contract-201',
      name: 'Contract',
      stock: 7,
      perUserLimit: 3,
      startsAt,
      endsAt,
    });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.any(Number),
      sku: 'contract-201',
      name: 'Contract',
      stock: 7,
      remaining: 7,
      soldOut: false,
      perUserLimit: 3,
      startsAt,
      endsAt,
      // API.md's sale object: 1 shard by default, null for a sale without a payment window.
      shards: 1,
      paymentWindowSeconds: null,
      proofOfWork: false,
      paused: false,
      // API.md: without a room it is null.
      waitingRoom: null,
    });
    const state = await stockState(env, [created.body.id]);
    expect(state.sales.find((s) => Number(s.id) === created.body.id)).toMatchObject({
      stock: 7,
      sold: 0,
      per_user_limit: 3,
    });
    expect(state.redis[created.body.id]!.remaining).toBe('7');
  });

  it('defaults perUserLimit to 1, startsAt to now and endsAt to null', async () => {
    const created = await api.createSale({ sku: 'contract-defaults', name: 'D', stock: 1 });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ perUserLimit: 1, endsAt: null, shards: 1 });
    expect(Math.abs(Date.parse(created.body.startsAt) - Date.now())).toBeLessThan(60_000);
  });

  it('400 BAD_REQUEST for a body that fails validation', async () => {
    expectError(await api.createSale({ sku: 'x', name: 'x', stock: 0 }), 400, 'BAD_REQUEST');
  });

  it('401 UNAUTHORIZED without the admin token, or with a buyer token', async () => {
    const body = JSON.stringify({ sku: 'contract-401', name: 'x', stock: 1 });
    const none = await api.raw('POST', '/admin/sales', { 'content-type': 'application/json' });
    expectError(none, 401, 'UNAUTHORIZED');
    const buyer = await sendRaw(sut.baseUrl, 'POST', '/admin/sales', api.buyerHeaders('a'), body);
    expectError(buyer, 401, 'UNAUTHORIZED');
  });

  it('409 SALE_EXISTS for a sku already used, leaving the first sale as it was', async () => {
    const again = await api.createSale({ sku: 'contract-open', name: 'again', stock: 5 });
    expectError(again, 409, 'SALE_EXISTS');
    expect((await api.sale(openSaleId)).body).toMatchObject({
      name: 'contract-open',
      stock: 100,
    });
  });

  it('413 PAYLOAD_TOO_LARGE for a body over 16 KiB', async () => {
    const big = await api.createSale({ sku: 'contract-413', name: 'n'.repeat(17_000), stock: 1 });
    expectError(big, 413, 'PAYLOAD_TOO_LARGE');
  });
});

describe('GET /sales/:saleId', () => {
  it('200 with stock, remaining and soldOut', async () => {
    const sale = await api.sale(openSaleId);
    expect(sale.status).toBe(200);
    expect(sale.body).toMatchObject({
      id: openSaleId,
      sku: 'contract-open',
      stock: 100,
      remaining: 100,
      soldOut: false,
      perUserLimit: 2,
      endsAt: null,
      shards: 1,
    });
  });

  it('400 BAD_REQUEST for a malformed id, 404 SALE_NOT_FOUND for an unknown one', async () => {
    expectError(await api.sale('abc' as never), 400, 'BAD_REQUEST');
    expectError(await api.sale(987_654_321), 404, 'SALE_NOT_FOUND');
  });
});

describe('POST /sales/:saleId/purchase', () => {
  it('202 {orderId, status: pending}, and the order ends confirmed', async () => {
    const answer = await api.purchase(openSaleId, 'p-202', { quantity: 2 });
    expect(answer.status).toBe(202);
    expect(answer.body).toEqual({ orderId: expect.any(String), status: 'pending' });
    await assertOracle(env, openSaleId, [
      { status: 202, orderId: answer.body.orderId, buyer: 'p-202', quantity: 2 },
    ]);
    expect((await api.sale(openSaleId)).body.remaining).toBe(98);
  });

  it('202 for an empty body, which buys one unit', async () => {
    const answer = await api.raw(
      'POST',
      `/sales/${openSaleId}/purchase`,
      api.buyerHeaders('p-empty'),
    );
    expect(answer.status).toBe(202);
    const order = await waitFor(async () => {
      const o = await api.order(answer.body.orderId, 'p-empty');
      return o.body.status === 'confirmed' && o;
    });
    expect(order.body.quantity).toBe(1);
  });

  it('400 BAD_REQUEST for a malformed body or a quantity out of range', async () => {
    expectError(await api.purchase(openSaleId, 'p-400', { quantity: 0 }), 400, 'BAD_REQUEST');
    expectError(await api.purchase(openSaleId, 'p-400', { quantity: 3 }), 400, 'BAD_REQUEST');
  });

  it('401 UNAUTHORIZED without a valid buyer token', async () => {
    const path = `/sales/${openSaleId}/purchase`;
    expectError(await api.raw('POST', path, {}), 401, 'UNAUTHORIZED');
    const wrong = { authorization: `Bearer ${signBuyerToken('alice', 'not-the-secret')}` };
    expectError(await api.raw('POST', path, wrong), 401, 'UNAUTHORIZED');
  });

  it('403 SALE_NOT_STARTED and SALE_ENDED outside the window', async () => {
    const future = await api.createSale({
      sku: 'contract-future',
      name: 'f',
      stock: 5,
      startsAt: iso(hour),
    });
    const past = await api.createSale({
      sku: 'contract-past',
      name: 'p',
      stock: 5,
      startsAt: iso(-2 * hour),
      endsAt: iso(-hour),
    });
    expectError(await api.purchase(future.body.id, 'p-403'), 403, 'SALE_NOT_STARTED');
    expectError(await api.purchase(past.body.id, 'p-403'), 403, 'SALE_ENDED');
  });

  it('404 SALE_NOT_FOUND for an unknown sale', async () => {
    expectError(await api.purchase(987_654_321, 'p-404'), 404, 'SALE_NOT_FOUND');
  });
});

describe('POST /sales/:saleId/purchase, refused', () => {
  it('409 SOLD_OUT and LIMIT_REACHED', async () => {
    const saleId = await createOpenSale('contract-409', 2, 1);
    const answers: Answer[] = [];
    const buy = async (buyer: string) => {
      const a = await api.purchase(saleId, buyer);
      answers.push({ status: a.status, orderId: a.body?.orderId, buyer, quantity: 1 });
      return a;
    };
    expect((await buy('p-409-a')).status).toBe(202);
    expectError(await buy('p-409-a'), 409, 'LIMIT_REACHED');
    expect((await buy('p-409-b')).status).toBe(202);
    expectError(await buy('p-409-c'), 409, 'SOLD_OUT');
    await assertOracle(env, saleId, answers);
  });

  it('413 PAYLOAD_TOO_LARGE for a body over 16 KiB', async () => {
    const padded = `{"quantity":1${' '.repeat(17_000)}}`;
    const answer = await sendRaw(
      sut.baseUrl,
      'POST',
      `/sales/${openSaleId}/purchase`,
      api.buyerHeaders('p-413'),
      padded,
    );
    expectError(answer, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('429 RATE_LIMITED with Retry-After once a buyer empties the bucket', async () => {
    const saleId = await createOpenSale('contract-429', 100, 1);
    const tasks = Array.from({ length: 60 }, () => async () => {
      const a = await api.purchase(saleId, 'p-429');
      return { status: a.status, orderId: a.body?.orderId, buyer: 'p-429', quantity: 1, a };
    });
    const answers = await pool(tasks, 60);
    const limited = answers.filter((x) => x.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    for (const { a } of limited) {
      expectError(a, 429, 'RATE_LIMITED');
      expect(Number(a.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
    expect(answers.filter((x) => x.status === 202)).toHaveLength(1);
    expect(new Set(answers.map((x) => x.status))).toEqual(new Set([202, 409, 429]));
    // Another buyer has a bucket of its own.
    const other = await api.purchase(saleId, 'p-429-other');
    expect(other.status).toBe(202);
    await assertOracle(env, saleId, [
      ...answers,
      { status: 202, orderId: other.body.orderId, buyer: 'p-429-other', quantity: 1 },
    ]);
  });
});
