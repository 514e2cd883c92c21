import { createSaleSchema } from '../validation.js';
import { orderExportQuerySchema } from '../order-export.js';
import { admin, errors, json, jsonBody, type Registry } from './describe.js';
import { orderSchema, saleIdParam, saleSchema } from './schemas.js';

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
    path: '/admin/sales/{saleId}/orders',
    tags: ['admin'],
    summary: 'Every order of a sale, streamed for fulfilment',
    description:
      'NDJSON (one order object a line) or CSV (a header row of the order fields). Streamed ' +
      'from a database cursor at the pace the client reads, in no particular order; orders ' +
      'accepted but not yet written by the workers are not in it.',
    security: admin,
    request: { params: saleIdParam, query: orderExportQuerySchema },
    responses: {
      200: {
        description: 'the orders',
        content: {
          'application/x-ndjson': { schema: orderSchema },
          'text/csv': { schema: { type: 'string' } },
        },
      },
      ...errors({
        400: 'BAD_REQUEST',
        401: 'UNAUTHORIZED',
        404: 'SALE_NOT_FOUND',
        429: 'RATE_LIMITED: EXPORT_MAX_CONCURRENT exports run in this process, with Retry-After',
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
