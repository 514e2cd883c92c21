import { z } from '@hono/zod-openapi';
import { changeSaleSchema, listSalesQuerySchema } from '../admin-validation.js';
import { admin, errors, json, jsonBody, type Registry } from './describe.js';
import { adminSaleSchema, saleIdParam, salePageSchema } from './schemas.js';

const actorHeader = z.object({
  'x-admin-actor': z
    .string()
    .optional()
    .openapi({ description: "who makes the change, recorded with it (default 'admin')" }),
});

const changeErrors = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  404: 'SALE_NOT_FOUND',
  503: 'UNAVAILABLE: saved, but the gate could not take it yet; the reconciler will',
};

// Operating a sale (API.md; src/api/routes/admin-sales.ts): the admin's reads, the kill
// switch and the changes mid-sale.
export function describeSaleOperations(registry: Registry) {
  registry.registerPath({
    method: 'get',
    path: '/admin/sales',
    tags: ['admin'],
    summary: 'List sales, newest first, a page at a time',
    security: admin,
    request: { query: listSalesQuerySchema },
    responses: {
      200: json('a page of sales', salePageSchema),
      ...errors({ 400: 'BAD_REQUEST', 401: 'UNAUTHORIZED' }),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/admin/sales/{saleId}',
    tags: ['admin'],
    summary: 'One sale with its orders counted by status, live',
    security: admin,
    request: { params: saleIdParam },
    responses: {
      200: json('the sale and its counts', adminSaleSchema),
      ...errors({ 400: 'BAD_REQUEST', 401: 'UNAUTHORIZED', 404: 'SALE_NOT_FOUND' }),
    },
  });
  for (const [action, summary] of [
    ['pause', 'The kill switch: purchases and joins answer 403 SALE_PAUSED within a second'],
    ['resume', 'Undo a pause: the sale sells again within a second'],
  ] as const) {
    registry.registerPath({
      method: 'post',
      path: `/admin/sales/{saleId}/${action}`,
      tags: ['admin'],
      summary,
      security: admin,
      request: { params: saleIdParam, headers: actorHeader },
      responses: { 200: json('the sale', adminSaleSchema), ...errors(changeErrors) },
    });
  }
  registry.registerPath({
    method: 'patch',
    path: '/admin/sales/{saleId}',
    tags: ['admin'],
    summary: 'End early or extend, add or take back units, change the per-user limit',
    description:
      'endsAt in the past ends the sale now; stock is the new total, never below the units ' +
      'sold or reserved; every API process takes the change within a second.',
    security: admin,
    request: { params: saleIdParam, headers: actorHeader, body: jsonBody(changeSaleSchema) },
    responses: {
      200: json('the sale as changed', adminSaleSchema),
      ...errors({ ...changeErrors, 409: 'STOCK_IN_USE: fewer units than sold or reserved' }),
    },
  });
}
