import { validate } from '@scalar/openapi-parser';
import { inspectRoutes } from 'hono/dev';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '../support/env.js';
import { startApi, type RunningApi } from '../../src/cmd/wiring/api.js';
import { createApp } from '../../src/api/app.js';
import { answerRecorder } from '../../src/api/middleware/http-metrics.js';
import { apiMetrics, createRegistry } from '../../src/observability/metrics.js';
import { signBuyerToken } from '../../src/auth/jwt.js';
import { orderSchema, saleSchema } from '../../src/api/openapi/schemas.js';

type Document = {
  openapi: string;
  paths: Record<string, Record<string, { security?: Record<string, string[]>[] }>>;
};

// Hono's `/sales/:saleId` is OpenAPI's `/sales/{saleId}`.
const openApiPath = (path: string) => path.replace(/:([A-Za-z]+)/g, '{$1}');

// The API description (API.md): every route the app serves is in /openapi.json, and every
// route there is one the app answers. The routes are read from the app itself.
// API description
let env: TestEnv;
let api: RunningApi;
let app: ReturnType<typeof createApp>;
let doc: Document;
let saleId: number;
let orderId: string;
let buyer: string;
let admin: string;

beforeAll(async () => {
  env = await createTestEnv('openapi');
  api = await startApi(env.config, env.logger);
  const registry = createRegistry('openapi-test');
  const metrics = apiMetrics(registry);
  app = createApp(api.deps, registry, metrics, answerRecorder(metrics));
  admin = `Bearer ${env.config.auth.adminToken}`;
  buyer = `Bearer ${signBuyerToken('openapi-buyer', env.config.jwt.secret)}`;
  const created = await app.request('/admin/sales', {
    method: 'POST',
    headers: { authorization: admin, 'content-type': 'application/json' },
    body: JSON.stringify({ sku: 'openapi', name: 'OpenAPI', stock: 5 }),
  });
  expect(created.status).toBe(201);
  saleId = saleSchema.strict().parse(await created.json()).id;
  const bought = await app.request(`/sales/${saleId}/purchase`, {
    method: 'POST',
    headers: { authorization: buyer },
  });
  expect(bought.status).toBe(202);
  orderId = ((await bought.json()) as { orderId: string }).orderId;
  const answer = await app.request('/openapi.json');
  expect(answer.status).toBe(200);
  expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
  doc = (await answer.json()) as Document;
});
afterAll(async () => {
  await api?.stop();
  await env?.cleanup();
});

it('is OpenAPI 3.1 with the schemas that validate the requests', async () => {
  expect(doc.openapi).toBe('3.1.0');
  // Against the specification's own schema (Scalar's parser), as any client tool reads it.
  const checked = await validate(structuredClone(doc) as never);
  expect(checked.errors ?? []).toEqual([]);
  expect([checked.valid, checked.version]).toEqual([true, '3.1']);
  const create = JSON.stringify(doc.paths['/admin/sales']?.post);
  // createSaleSchema's own limits, not a copy's.
  expect(create).toContain('"maximum":10000000');
  expect(create).toContain('"additionalProperties":false');
  expect(JSON.stringify(doc.paths['/sales/{saleId}/purchase']?.post)).toContain('idempotency-key');
});

it('documents patterns a client can use as written', () => {
  const patterns = [...JSON.stringify(doc).matchAll(/"pattern":("(?:[^"\\]|\\.)*")/g)].map(
    (m) => JSON.parse(m[1]!) as string,
  );
  expect(patterns.length).toBeGreaterThan(3);
  // JSON Schema's patterns are ECMA-262 without delimiters or flags: a trailing `/u` would
  // make the sale's name pattern match nothing.
  for (const pattern of patterns) expect(pattern).not.toMatch(/\/[a-z]*$/);
  const create = doc.paths['/admin/sales']?.post as unknown as {
    requestBody: { content: Record<string, { schema: { properties: Record<string, object> } }> };
  };
  const name = create.requestBody.content['application/json']!.schema.properties.name as {
    pattern: string;
  };
  for (const flags of ['', 'u']) {
    const re = new RegExp(name.pattern, flags);
    expect(['OpenAPI', 'Drop No. 5 — 👟', 'é'].every((ok) => re.test(ok))).toBe(true);
    expect(['a\u0001b', 'tab\there', '\u0085', 'lone \ud800'].some((bad) => re.test(bad))).toBe(
      false,
    );
  }
});

it('documents every route the app serves', () => {
  const served = inspectRoutes(app).filter((route) => !route.isMiddleware);
  expect(served.length).toBeGreaterThan(10);
  const missing = served.filter((route) => {
    // bull-board's own routes under its path: the board is documented as one page.
    const path = openApiPath(route.path.replace(/\/\*$/, ''));
    const item = doc.paths[path];
    if (!item) return true;
    return route.method !== 'ALL' && !(route.method.toLowerCase() in item);
  });
  expect(missing.map((route) => `${route.method} ${route.path}`)).toEqual([]);
});

it('answers every documented route', async () => {
  const notRouted: string[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, operation] of Object.entries(item)) {
      const url = path.replace('{saleId}', String(saleId)).replace('{orderId}', orderId);
      const schemes = (operation.security ?? []).flatMap((s) => Object.keys(s));
      const authorization = schemes.includes('adminToken')
        ? admin
        : schemes.includes('buyerToken')
          ? buyer
          : undefined;
      const answer = await app.request(url, {
        method: method.toUpperCase(),
        headers: authorization ? { authorization } : {},
      });
      const body = await answer.text();
      // A resource's own 404 (SALE_NOT_FOUND, ...) is an answer; the router's is not.
      if (answer.status === 404 && body.includes('"NOT_FOUND"')) {
        notRouted.push(`${method} ${path}`);
      }
    }
  }
  expect(notRouted).toEqual([]);
});

it('describes the answers as the handlers build them', async () => {
  const sale = await app.request(`/sales/${saleId}`);
  saleSchema.strict().parse(await sale.json());
  const order = await app.request(`/orders/${orderId}`, { headers: { authorization: buyer } });
  orderSchema.strict().parse(await order.json());
});

it('serves the reference page of the document', async () => {
  const page = await app.request('/docs');
  expect(page.status).toBe(200);
  expect(page.headers.get('content-type')).toMatch(/^text\/html/);
  expect(await page.text()).toContain('/openapi.json');
});
