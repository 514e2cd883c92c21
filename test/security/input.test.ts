import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useSystem } from '../support/use-system.js';
import { expectError, sendRaw, stockState, type StockState } from '../support/contract.js';
import { startApi, type RunningApi } from '../../src/cmd/wiring/api.js';

// Bodies of POST /sales/:id/purchase that are each a 400 and change nothing. The sale's
// perUserLimit is 3.
const badPurchaseBodies: Record<string, string> = {
  'truncated JSON': '{"quantity":1',
  'single quotes': "{'quantity':1}",
  'form encoding': 'quantity=1',
  'JSON null': 'null',
  'JSON array': '[{"quantity":1}]',
  'JSON string': '"1"',
  'JSON number': '1',
  'a NUL byte': '\u0000',
  'quantity as a string': '{"quantity":"1"}',
  'quantity null': '{"quantity":null}',
  'quantity true': '{"quantity":true}',
  'quantity array': '{"quantity":[1]}',
  'quantity object': '{"quantity":{"valueOf":1}}',
  'quantity negative': '{"quantity":-1}',
  'quantity zero': '{"quantity":0}',
  'quantity negative zero': '{"quantity":-0}',
  'quantity fractional': '{"quantity":1.5}',
  'quantity tiny': '{"quantity":1e-9}',
  'quantity huge': '{"quantity":1e308}',
  'quantity overflowing': '{"quantity":1e400}',
  'quantity beyond 2^53': '{"quantity":9007199254740993}',
  'quantity above the per-user limit': '{"quantity":4}',
  'quantity far above any limit': '{"quantity":10001}',
  __proto__: '{"__proto__":{"quantity":2}}',
  '__proto__ beside quantity': '{"quantity":1,"__proto__":{"isAdmin":true}}',
  constructor: '{"constructor":{"prototype":{"isAdmin":true}},"quantity":1}',
  'buyer in the body': '{"quantity":1,"userId":"someone-else"}',
  'unknown field': '{"quantity":1,"price":0}',
};

const badIdempotencyKeys: Record<string, string> = {
  empty: '',
  'over 128 characters': 'k'.repeat(129),
  'with a space': 'two words',
  'latin1 byte': 'cl\u00e9',
};

const badSaleIds = [
  '0',
  '-1',
  '01',
  '1.5',
  '1e3',
  'abc',
  '9999999999999999',
  '%00',
  '%201',
  '1%20',
];

const badOrderIds = (saleId: number) => [
  'x',
  `${saleId}`,
  `${saleId}-not-a-uuid`,
  `${saleId}-00000000-0000-4000-8000-000000000000x`,
  `0-00000000-0000-4000-8000-000000000000`,
  `${saleId}-00000000-0000-4000-8000-00000000000G`,
  '..%2F..%2Fetc%2Fpasswd',
];

// Bodies of POST /admin/sales, each a 400 that creates nothing.
const badSaleBodies = (): Record<string, unknown> => {
  const base = { sku: 'input-new', name: 'New', stock: 5 };
  return {
    'stock zero': { ...base, stock: 0 },
    'stock negative': { ...base, stock: -5 },
    'stock fractional': { ...base, stock: 1.5 },
    'stock as a string': { ...base, stock: '5' },
    'stock huge': { ...base, stock: 1e12 },
    'perUserLimit zero': { ...base, perUserLimit: 0 },
    'perUserLimit huge': { ...base, perUserLimit: 1e9 },
    'sku empty': { ...base, sku: '' },
    'sku with a space': { ...base, sku: 'a b' },
    'sku too long': { ...base, sku: 's'.repeat(65) },
    'sku not ASCII': { ...base, sku: 'caf\u00e9' },
    'name empty': { ...base, name: '' },
    'name too long': { ...base, name: 'n'.repeat(201) },
    'name with a NUL': { ...base, name: 'a\u0000b' },
    'name with a lone surrogate': { ...base, name: 'a\ud800' },
    'startsAt year 0': { ...base, startsAt: '0000-01-01T00:00:00Z' },
    'startsAt not a date': { ...base, startsAt: 'tomorrow' },
    'startsAt impossible': { ...base, startsAt: '2030-02-30T25:00:00Z' },
    'startsAt a number': { ...base, startsAt: 1_700_000_000_000 },
    'endsAt before startsAt': {
      ...base,
      startsAt: '2030-01-02T00:00:00Z',
      endsAt: '2030-01-01T00:00:00Z',
    },
    'endsAt in the past': { ...base, endsAt: '2001-01-01T00:00:00Z' },
    'missing stock': { sku: 'input-new', name: 'New' },
    'unknown field': { ...base, sold: 5 },
    __proto__: JSON.parse('{"sku":"input-new","name":"N","stock":5,"__proto__":{"stock":1}}'),
    constructor: { ...base, constructor: { prototype: { polluted: true } } },
    'JSON array': [base],
    'JSON null': null,
  };
};

// hostile input
const system = useSystem('input');
let saleId: number;
let before: StockState;

beforeAll(async () => {
  const created = await system.api.createSale({
    sku: 'input',
    name: 'Input',
    stock: 20,
    perUserLimit: 3,
  });
  saleId = created.body.id;
  before = await stockState(system.env, [saleId]);
});

const purchase = (body: string, extra: Record<string, string> = {}, path = `${saleId}`) =>
  sendRaw(
    system.sut.baseUrl,
    'POST',
    `/sales/${path}/purchase`,
    { ...system.api.buyerHeaders('hostile'), ...extra },
    body,
  );

it('answers 400 BAD_REQUEST to every malformed purchase body', async () => {
  for (const [why, body] of Object.entries(badPurchaseBodies)) {
    const answer = await purchase(body);
    expect(answer.status, why).toBe(400);
    expectError(answer, 400, 'BAD_REQUEST');
  }
});

it('answers 400 to a bad Idempotency-Key, even with a good body', async () => {
  for (const [why, key] of Object.entries(badIdempotencyKeys)) {
    const answer = await purchase('{"quantity":1}', { 'idempotency-key': key });
    expect(answer.status, why).toBe(400);
    expectError(answer, 400, 'BAD_REQUEST');
  }
});

it('answers 400 to query parameters: the quantity is never read from the query', async () => {
  const answer = await sendRaw(
    system.sut.baseUrl,
    'POST',
    `/sales/${saleId}/purchase?quantity=3`,
    system.api.buyerHeaders('hostile'),
  );
  expectError(answer, 400, 'BAD_REQUEST');
  expectError(await system.api.raw('GET', `/sales/${saleId}?x=1`, {}), 400, 'BAD_REQUEST');
});

it('answers 400 to malformed sale and order ids, 404 to an unknown sale', async () => {
  for (const id of badSaleIds) {
    expect((await purchase('{"quantity":1}', {}, id)).status, `purchase ${id}`).toBe(400);
    const sale = await sendRaw(system.sut.baseUrl, 'GET', `/sales/${id}`);
    expect(sale.status, `GET /sales/${id}`).toBe(400);
    expectError(sale, 400, 'BAD_REQUEST');
  }
  for (const id of badOrderIds(saleId)) {
    const order = await sendRaw(
      system.sut.baseUrl,
      'GET',
      `/orders/${id}`,
      system.api.buyerHeaders('b'),
    );
    expect(order.status, `GET /orders/${id}`).toBe(400);
  }
  expectError(await purchase('{"quantity":1}', {}, '424242'), 404, 'SALE_NOT_FOUND');
});

it('answers 400 to every malformed sale and creates nothing', async () => {
  for (const [why, body] of Object.entries(badSaleBodies())) {
    const answer = await system.api.createSale(body as Record<string, unknown>);
    expect(answer.status, why).toBe(400);
    expectError(answer, 400, 'BAD_REQUEST');
  }
});

it('changed nothing: stock, reservations, orders and sales are as before', async () => {
  expect(await stockState(system.env, [saleId])).toEqual(before);
  // No parsed body reached a prototype.
  const probe = {} as Record<string, unknown>;
  expect([probe.isAdmin, probe.polluted, probe.quantity]).toEqual([
    undefined,
    undefined,
    undefined,
  ]);
});

describe('validation comes before any Redis or PostgreSQL call', () => {
  let blind: RunningApi;
  let blindUrl: string;

  beforeAll(async () => {
    // A second API whose Redis and PostgreSQL clients are shut: any request that reaches
    // either one fails, so a 400 here was decided before touching them.
    blind = await startApi(system.env.config, system.env.logger);
    blindUrl = `http://127.0.0.1:${blind.port}`;
    blind.deps.redis.disconnect();
    await blind.deps.db.$client.end();
  });
  afterAll(async () => {
    await blind?.stop().catch(() => undefined);
  });

  it('still answers 400 to bad input, while a good purchase finds Redis away', async () => {
    const headers = system.api.buyerHeaders('hostile');
    const path = `/sales/${saleId}/purchase`;
    for (const [why, body] of Object.entries(badPurchaseBodies)) {
      // Over the per-user limit needs the sale's limit, which only the gate knows.
      if (why === 'quantity above the per-user limit') continue;
      expect((await sendRaw(blindUrl, 'POST', path, headers, body)).status, why).toBe(400);
    }
    for (const key of Object.values(badIdempotencyKeys)) {
      const answer = await sendRaw(blindUrl, 'POST', path, {
        ...headers,
        'idempotency-key': key,
      });
      expect(answer.status).toBe(400);
    }
    for (const id of badSaleIds) {
      expect((await sendRaw(blindUrl, 'GET', `/sales/${id}`)).status).toBe(400);
    }
    for (const id of badOrderIds(saleId)) {
      expect((await sendRaw(blindUrl, 'GET', `/orders/${id}`, headers)).status).toBe(400);
    }
    const admin = {
      authorization: `Bearer ${system.env.config.auth.adminToken}`,
      'content-type': 'application/json',
    };
    for (const [why, body] of Object.entries(badSaleBodies())) {
      const answer = await sendRaw(blindUrl, 'POST', '/admin/sales', admin, JSON.stringify(body));
      expect(answer.status, why).toBe(400);
    }

    const good = await sendRaw(blindUrl, 'POST', path, headers, '{"quantity":1}');
    expectError(good, 503, 'UNAVAILABLE');
  });
});
