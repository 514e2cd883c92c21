import { createSaleSchema } from '../validation.js';
import { admin, errors, json, jsonBody, type Registry } from './describe.js';
import { saleSchema } from './schemas.js';

// The admin routes (src/api/routes/admin-sales.ts) and bull-board (src/api/admin-queues.ts).
export function describeAdmin(registry: Registry) {
  registry.registerPath({
    method: 'post',
    path: '/admin/sales',
    tags: ['admin'],
    summary: 'Create a sale; its stock is buyable when the answer is sent',
    security: admin,
    request: { body: jsonBody(createSaleSchema) },
    responses: {
      201: json('the sale, durable in PostgreSQL and loaded into Redis', saleSchema),
      ...errors({
        400: 'BAD_REQUEST',
        401: 'UNAUTHORIZED',
        409: 'SALE_EXISTS: the sku is taken',
        503: 'UNAVAILABLE: saved, but the gate could not load it yet',
      }),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/admin/queues',
    tags: ['admin'],
    summary: "bull-board: the BullMQ queues' UI (its own routes live under this path)",
    description: 'Also accepts HTTP basic auth admin:<ADMIN_TOKEN>, so a browser prompts.',
    security: admin,
    responses: {
      200: { description: 'the UI', content: { 'text/html': { schema: { type: 'string' } } } },
      ...errors({ 401: 'UNAUTHORIZED' }),
    },
  });
}
