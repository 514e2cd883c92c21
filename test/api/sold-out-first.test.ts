import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestEnv, waitFor, type TestEnv } from '../support/env.js';
import { client, startSystem, type Client, type System } from '../support/system.js';

// API.md: a sale known to be sold out or outside its window may be answered 409 / 403 before
// the credentials and the body, except to a request with an Idempotency-Key; every other
// answer keeps the order 401, then 400, then the sale's own answer.
// the sold-out answer before credentials and body
let env: TestEnv;
let sut: System;
let api: Client;

beforeAll(async () => {
  env = await createTestEnv('soldoutfirst');
  sut = await startSystem(env);
  api = client(sut.baseUrl, env);
});
afterAll(async () => {
  await sut?.stop();
  await env?.cleanup();
});

const post = (saleId: number, headers: Record<string, string>, body?: string) =>
  fetch(`${sut.baseUrl}/sales/${saleId}/purchase`, { method: 'POST', headers, body }).then(
    async (r) => ({
      status: r.status,
      code: ((await r.json()) as { error?: { code: string } }).error?.code,
    }),
  );
const json = { 'content-type': 'application/json' };

it('answers 409 to a sold-out sale whatever the credentials and the body', async () => {
  const created = await api.createSale({ sku: 'sof-1', name: 'Sold out first', stock: 1 });
  const saleId = created.body.id as number;
  expect((await api.purchase(saleId, 'first-buyer')).status).toBe(202);
  // The process learns of the sell-out from Redis's event, or its first reading.
  await waitFor(async () => (await post(saleId, json, '{"quantity":1}')).status === 409, {
    what: 'a sold-out answer without credentials',
  });

  const buyer = api.buyerHeaders('second-buyer');
  const badToken = { ...json, authorization: 'Bearer not-a-token' };
  expect(await post(saleId, json, '{"quantity":1}')).toEqual({ status: 409, code: 'SOLD_OUT' });
  expect(await post(saleId, badToken, '{"quantity":1}')).toEqual({
    status: 409,
    code: 'SOLD_OUT',
  });
  expect(await post(saleId, json, '{not json')).toEqual({ status: 409, code: 'SOLD_OUT' });
  expect(await post(saleId, buyer, '{"quantity":0}')).toEqual({ status: 409, code: 'SOLD_OUT' });
  expect(await post(saleId, buyer, '{"quantity":1}')).toEqual({ status: 409, code: 'SOLD_OUT' });

  // With an Idempotency-Key the contract's order holds: its first answer may be owed.
  const keyed = { 'idempotency-key': 'k-1' };
  expect((await post(saleId, { ...json, ...keyed }, '{"quantity":1}')).status).toBe(401);
  expect((await post(saleId, { ...buyer, ...keyed }, '{not json')).status).toBe(400);
  expect(await post(saleId, { ...buyer, ...keyed }, '{"quantity":1}')).toEqual({
    status: 409,
    code: 'SOLD_OUT',
  });
  // A query string is a bad request, judged after the credentials.
  const withQuery = await fetch(`${sut.baseUrl}/sales/${saleId}/purchase?quantity=2`, {
    method: 'POST',
    headers: json,
  });
  expect(withQuery.status).toBe(401);
});

it('answers 403 to a sale not started, and keeps 401 then 400 for a sale on sale', async () => {
  const later = new Date(Date.now() + 3_600_000).toISOString();
  const notYet = await api.createSale({ sku: 'sof-2', name: 'Later', stock: 5, startsAt: later });
  const notYetId = notYet.body.id as number;
  await waitFor(async () => (await post(notYetId, json, '{not json')).status === 403, {
    what: 'a not-started answer without credentials',
  });
  expect(await post(notYetId, json, '')).toEqual({ status: 403, code: 'SALE_NOT_STARTED' });

  const open = await api.createSale({ sku: 'sof-3', name: 'Open', stock: 100 });
  const openId = open.body.id as number;
  const buyer = api.buyerHeaders('open-buyer');
  // Asked twice: the first request also has the process read the sale's state.
  for (let i = 0; i < 2; i++) {
    expect(await post(openId, json, '{"quantity":1}')).toEqual({
      status: 401,
      code: 'UNAUTHORIZED',
    });
    expect(await post(openId, json, '{not json')).toEqual({ status: 401, code: 'UNAUTHORIZED' });
    expect(await post(openId, buyer, '{not json')).toEqual({ status: 400, code: 'BAD_REQUEST' });
  }
  expect((await post(openId, buyer, '{"quantity":1}')).status).toBe(202);
  // A sale that does not exist is not public knowledge to answer early: 401 first.
  expect((await post(999_999, json, '{"quantity":1}')).status).toBe(401);
});
