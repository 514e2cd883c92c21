import { Hono, type Context } from 'hono';
import type { ApiDeps } from '../deps.js';
import { ApiError } from '../api-error.js';
import { requireAdmin } from '../middleware/auth.js';
import {
  badRequestFrom,
  createSaleSchema,
  parseSaleId,
  readJson,
  rejectQuery,
} from '../validation.js';
import { adminActorSchema, changeSaleSchema, listSalesQuerySchema } from '../admin-validation.js';
import { findSale } from '../../db/sales-repository.js';
import { listSales, orderCounts } from '../../db/sale-admin-repository.js';
import type { Sale } from '../../db/schema.js';
import { saleView } from '../sale-view.js';
import { changeSale, type SaleChange } from '../sale-changes.js';
import { logOf } from '../middleware/request-logger.js';
import { createSale } from '../sale-creation.js';
import { roomCounts } from '../room-check.js';

// Who is recorded as making a change: the X-Admin-Actor header (one admin token is shared by
// the operations team, so the header names the person), 'admin' without it.
function actorOf(c: Context): string {
  const raw = c.req.header('x-admin-actor');
  return raw === undefined ? 'admin' : badRequestFrom(adminActorSchema, raw);
}

export function adminSalesRoutes(deps: ApiDeps) {
  // What the gate can still reserve; without the gate's reading, what PostgreSQL has not sold.
  const remainingOf = async (sale: Sale) =>
    (await deps.gate.remaining(sale.id)) ?? sale.stock - sale.sold;
  const adminView = async (sale: Sale) => ({
    ...saleView(sale, await remainingOf(sale), await roomCounts(deps, sale)),
    orders: await orderCounts(deps.db, sale.id),
  });
  const change = async (c: Context, saleId: number, what: SaleChange) => {
    const sale = await changeSale({ ...deps, logger: logOf(c, deps.logger) }, saleId, what);
    return c.json(await adminView(sale));
  };
  return new Hono()
    .use('*', requireAdmin(deps.config.auth.adminToken))
    .post('/', async (c) => {
      rejectQuery(c.req.query());
      const body = await readJson(c.req, createSaleSchema);
      const { sale, room } = await createSale(deps, body, logOf(c, deps.logger));
      return c.json(saleView(sale, sale.stock, room), 201);
    })
    .get('/', async (c) => {
      const query = badRequestFrom(listSalesQuerySchema, c.req.query());
      const page = await listSales(deps.db, query);
      return c.json({
        sales: await Promise.all(
          page.sales.map(async (sale) =>
            saleView(sale, await remainingOf(sale), await roomCounts(deps, sale)),
          ),
        ),
        nextCursor: page.nextCursor === null ? null : String(page.nextCursor),
      });
    })
    .get('/:saleId', async (c) => {
      const saleId = parseSaleId(c.req.param('saleId'));
      rejectQuery(c.req.query());
      const sale = await findSale(deps.db, saleId);
      if (!sale) throw new ApiError(404, 'SALE_NOT_FOUND', 'no such sale');
      return c.json(await adminView(sale));
    })
    .post('/:saleId/pause', async (c) => {
      const saleId = parseSaleId(c.req.param('saleId'));
      rejectQuery(c.req.query());
      return change(c, saleId, { actor: actorOf(c), action: 'pause' });
    })
    .post('/:saleId/resume', async (c) => {
      const saleId = parseSaleId(c.req.param('saleId'));
      rejectQuery(c.req.query());
      return change(c, saleId, { actor: actorOf(c), action: 'resume' });
    })
    .patch('/:saleId', async (c) => {
      const saleId = parseSaleId(c.req.param('saleId'));
      rejectQuery(c.req.query());
      const actor = actorOf(c);
      const body = await readJson(c.req, changeSaleSchema);
      return change(c, saleId, { actor, action: 'update', body });
    });
}
