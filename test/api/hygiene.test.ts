import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestEnv, rejectOrderPublishes, waitFor, type TestEnv } from '../support/env.js';
import { client, startSystem, type Client, type System, closeSystem } from '../support/system.js';
import { assertOracle } from '../support/oracle.js';
import { expectError, expectNoInternals, sendRaw } from '../support/contract.js';

type LogLine = Record<string, unknown> & { msg: string; level: number };

const secureHeaders = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'SAMEORIGIN',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=15552000; includeSubDomains',
  'cross-origin-resource-policy': 'same-origin',
  'x-permitted-cross-domain-policies': 'none',
};

// What a browser reads only on a document (OWASP's REST Security cheat sheet: "little or no
// security benefits" on an API's answers): the pages carry them, the JSON answers do not.
const documentHeaders = {
  'cross-origin-opener-policy': 'same-origin',
  'origin-agent-cluster': '?1',
  'x-dns-prefetch-control': 'off',
  'x-download-options': 'noopen',
  'x-xss-protection': '0',
};

// response and log hygiene
let env: TestEnv;
let sut: System;
let api: Client;
let saleId: number;
const lines: LogLine[] = [];

beforeAll(async () => {
  const base = await createTestEnv('hygiene');
  // Every line the processes write, parsed, so the test can read what was logged.
  const logger = pino(
    { level: 'debug', base: { proc: 'test-hygiene' } },
    { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) },
  );
  env = { ...base, logger };
  sut = await startSystem(env);
  api = client(sut.baseUrl, env);
  saleId = (await api.createSale({ sku: 'hygiene', name: 'Hygiene', stock: 10 })).body.id;
});
afterAll(() => closeSystem(sut, env));

const serverErrors = async (route: string): Promise<number> => {
  const text = (await sendRaw(sut.baseUrl, 'GET', '/metrics')).text;
  const line = text
    .split('\n')
    .find((l) => l.startsWith('flashline_http_server_errors_total{') && l.includes(route));
  return line ? Number(line.split(' ').at(-1)) : 0;
};

it('sets the secure headers and a request id on every kind of answer', async () => {
  const answers = [
    await api.sale(saleId),
    await api.raw('GET', '/healthz', {}),
    await api.purchase(saleId, 'h', { quantity: 0 }),
    await api.raw('POST', `/sales/${saleId}/purchase`, {}),
    await api.raw('GET', '/nowhere', {}),
    await sendRaw(sut.baseUrl, 'POST', '/admin/sales', {}, 'x'.repeat(20_000)),
  ];
  expect(answers.map((a) => a.status)).toEqual([200, 200, 400, 401, 404, 413]);
  const ids = new Set<string>();
  for (const answer of answers) {
    for (const [name, value] of Object.entries(secureHeaders)) {
      expect(answer.headers.get(name), `${answer.status} ${name}`).toBe(value);
    }
    expect(answer.headers.get('x-powered-by')).toBeNull();
    const id = answer.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    ids.add(id!);
  }
  expect(ids.size).toBe(answers.length);
});

it('a JSON answer carries only the headers that mean something to an API client', async () => {
  const poll = await api.raw('GET', `/sales/${saleId}/queue`, {});
  const answers = [await api.sale(saleId), await api.purchase(saleId, 'h', { quantity: 0 }), poll];
  for (const answer of answers) {
    expect(answer.headers.get('content-type'), `${answer.status}`).toMatch(/^application\/json/);
    for (const name of Object.keys(documentHeaders)) {
      expect(answer.headers.get(name), `${answer.status} ${name}`).toBeNull();
    }
  }
});

it('every page and the files it loads carry the document headers as well', async () => {
  const admin = { authorization: `Bearer ${env.config.auth.adminToken}` };
  const paths = [
    `/sales/${saleId}/room`,
    '/room/room.js',
    '/docs',
    '/admin/queues',
    '/admin/queues/api/queues',
  ];
  for (const path of paths) {
    const page = await api.raw('GET', path, path.startsWith('/admin') ? admin : {});
    expect(page.status, path).toBe(200);
    for (const [name, value] of Object.entries({ ...secureHeaders, ...documentHeaders })) {
      expect(page.headers.get(name), `${path} ${name}`).toBe(value);
    }
    expect(page.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  }
});

it("echoes a client's well-formed request id and replaces a malformed one", async () => {
  const echoed = await api.raw('GET', '/healthz', { 'x-request-id': 'trace-abc_123' });
  expect(echoed.headers.get('x-request-id')).toBe('trace-abc_123');
  for (const bad of ['has spaces', 'semi;colon', 'x'.repeat(256)]) {
    const replaced = await api.raw('GET', '/healthz', { 'x-request-id': bad });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  }
});

it('an order is never cached by a shared cache', async () => {
  const placed = await api.purchase(saleId, 'cache');
  const order = await api.order(placed.body.orderId, 'cache');
  expect(order.headers.get('cache-control')).toBe('private, no-store');
  await assertOracle(env, saleId, [
    { status: placed.status, orderId: placed.body.orderId, buyer: 'cache', quantity: 1 },
  ]);
});

it('a 500 names no internals, is counted, and is logged with its cause and request id', async () => {
  const db = new pg.Client({ connectionString: env.config.database.url });
  await db.connect();
  const countedBefore = await serverErrors('/sales/:saleId');
  // Schema drift: the query the route runs now fails in PostgreSQL with 42703.
  await db.query('ALTER TABLE sales RENAME COLUMN name TO title');
  let answer;
  try {
    answer = await api.sale(saleId);
  } finally {
    await db.query('ALTER TABLE sales RENAME COLUMN title TO name');
    await db.end();
  }
  expectError(answer, 500, 'INTERNAL');
  expect(answer.body.error.message).toBe('internal error');
  expectNoInternals(JSON.stringify(answer.body));
  expect(await serverErrors('/sales/:saleId')).toBe(countedBefore + 1);

  const requestId = answer.headers.get('x-request-id');
  const logged = await waitFor(async () =>
    lines.find((l) => l.msg === 'unexpected error' && l.requestId === requestId),
  );
  expect(logged.level).toBe(50);
  expect(logged).toMatchObject({ method: 'GET', path: `/sales/${saleId}` });
  const err = logged.err as { message: string; stack: string };
  expect(err.stack).toEqual(expect.any(String));
  expect(JSON.stringify(err)).toMatch(/name/);
  expect((await api.sale(saleId)).status).toBe(200);
});

it("every line a failing purchase logs carries the request's id", async () => {
  const acceptPublishes = await rejectOrderPublishes(env);
  const from = lines.length;
  const answer = await api
    .purchase(saleId, 'logged', { quantity: 1 }, { 'x-request-id': 'req-503' })
    .finally(acceptPublishes);
  expectError(answer, 503, 'UNAVAILABLE');
  expect(answer.headers.get('x-request-id')).toBe('req-503');
  const written = lines.slice(from).filter((l) => l.proc === 'api');
  expect(written.map((l) => l.msg)).toContain('publish failed; reservation released');
  for (const line of written) expect(line, line.msg).toMatchObject({ requestId: 'req-503' });
  await assertOracle(env, saleId, [{ status: 503, buyer: 'logged', quantity: 1 }]);
});
