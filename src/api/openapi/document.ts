import { OpenAPIHono } from '@hono/zod-openapi';
import { Scalar } from '@scalar/hono-api-reference';
import { Hono } from 'hono';
import type { Registry } from './describe.js';
import { describeSales } from './sales-paths.js';
import { describeOrders } from './order-paths.js';
import { describeAdmin } from './admin-paths.js';
import { describeOperations } from './operations-paths.js';
import { describeRoom } from './room-paths.js';

// Each file of paths describes one group of routes (docs/api-description.md says how to add
// one). A route missing here fails test/api/openapi.test.ts.
const describers: ((registry: Registry) => void)[] = [
  describeSales,
  describeOrders,
  describeAdmin,
  describeOperations,
  describeRoom,
];

function registerSecurity(registry: Registry) {
  registry.registerComponent('securitySchemes', 'buyerToken', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description:
      "A buyer's token: HS256 with JWT_SECRET, or the identity provider's (JWT_JWKS_URL)",
  });
  registry.registerComponent('securitySchemes', 'adminToken', {
    type: 'http',
    scheme: 'bearer',
    description: 'ADMIN_TOKEN',
  });
  registry.registerComponent('securitySchemes', 'adminBasic', {
    type: 'http',
    scheme: 'basic',
    description: 'admin:<ADMIN_TOKEN>',
  });
  registry.registerComponent('securitySchemes', 'paymentSignature', {
    type: 'apiKey',
    in: 'header',
    name: 'X-Signature',
    description: 'sha256=<hex HMAC-SHA256 of the raw body with PAYMENT_WEBHOOK_SECRET>',
  });
}

// The OpenAPI 3.1 document of the API. The routes stay plain Hono routes, so that none runs
// through the validators and layers of OpenAPIHono's own routes (the purchase path keeps its
// one handler): an OpenAPIHono that serves nothing only holds the registry the paths are
// described in, with the schemas the handlers validate with.
export function apiDocument(version: string) {
  const holder = new OpenAPIHono();
  registerSecurity(holder.openAPIRegistry);
  for (const describe of describers) describe(holder.openAPIRegistry);
  return holder.getOpenAPI31Document({
    openapi: '3.1.0',
    info: {
      title: 'Flashline',
      version,
      description: 'The flash-sale HTTP contract (API.md). Every error body is the Error schema.',
    },
    tags: ['sales', 'orders', 'payments', 'admin', 'operations'].map((name) => ({ name })),
  });
}

export const openApiPath = '/openapi.json';
export const docsPath = '/docs';

// GET /openapi.json and GET /docs. The document is generated once, on the first request.
export function apiDescriptionRoutes(version = 'v1') {
  let body: string | undefined;
  return new Hono()
    .get(openApiPath, (c) =>
      c.body((body ??= JSON.stringify(apiDocument(version))), 200, {
        'content-type': 'application/json',
      }),
    )
    .get(docsPath, Scalar({ url: openApiPath, pageTitle: 'Flashline API' }));
}
