import { Hono, type Context } from 'hono';
import type { ApiDeps } from '../deps.js';
import { ApiError, unavailable } from '../api-error.js';
import { requireAdmin } from '../middleware/auth.js';
import {
  badRequestFrom,
  createSaleSchema,
  parseSaleId,
  readJson,
  rejectQuery,
} from '../validation.js';
import { adminActorSchema, changeSaleSchema, listSalesQuerySchema } from '../admin-validation.js';
import { insertSale, SkuTakenError, findSale } from '../../db/sales-repository.js';
import { listSales, orderCounts } from '../../db/sale-admin-repository.js';
import type { Sale } from '../../db/schema.js';
import { saleView } from '../sale-view.js';
import { changeSale, type SaleChange } from '../sale-changes.js';
import { logOf } from '../middleware/request-logger.js';

// Who is recorded as making a change: the X-Admin-Actor header (one admin token is shared by
// the operations team, so the header names the person), 'admin' without it.
function actorOf(c: Context): string {
  const raw = c.req.header('x-admin-actor');
  return raw === undefined ? 'admin' : badRequestFrom(adminActorSchema, raw);
}

// POST /admin/sales: saved in PostgreSQL, then loaded into the gate.
async function createSale(c: Context, deps: ApiDeps) {
  rejectQuery(c.req.query());
  const body = await readJson(c.req, createSaleSchema);
  let sale;
  try {
    sale = await insertSale(deps.db, {
      sku: body.sku,
      name: body.name,
      stock: body.stock,
      perUserLimit: body.perUserLimit,
      startsAt: body.startsAt ?? new Date(),
      endsAt: body.endsAt ?? null,
      paymentWindowSeconds: body.paymentWindowSeconds ?? null,
      shards: body.shards,
      proofOfWork: body.proofOfWork,
    });
  } catch (error) {
    if (error instanceof SkuTakenError) throw new ApiError(409, 'SALE_EXISTS', error.message);
    throw error;
  }
  try {
    // The contract: the stock is buyable the moment the 201 is sent.
    await deps.gate.loadSale(sale);
  } catch (error) {
    logOf(c, deps.logger).error(
      { err: error, saleId: sale.id },
      'sale saved but not loaded into redis',
    );
    throw unavailable('the sale was saved but the gate could not load it; the reconciler will');
  }
  return c.json(saleView(sale, sale.stock), 201);
}

export function adminSalesRoutes(deps: ApiDeps) {
  // What the gate can still reserve; without the gate's reading, what PostgreSQL has not sold.
  const remainingOf = async (sale: Sale) =>
    (await deps.gate.remaining(sale.id)) ?? sale.stock - sale.sold;
  const adminView = async (sale: Sale) => ({
    ...saleView(sale, await remainingOf(sale)),
    orders: await orderCounts(deps.db, sale.id),
  });
  const change = async (c: Context, saleId: number, what: SaleChange) => {
    const sale = await changeSale({ ...deps, logger: logOf(c, deps.logger) }, saleId, what);
    return c.json(await adminView(sale));
  };
  return new Hono()
    .use('*', requireAdmin(deps.config.auth.adminToken))
    .post('/', (c) => createSale(c, deps))
    .get('/', async (c) => {
      const query = badRequestFrom(listSalesQuerySchema, c.req.query());
      const page = await listSales(deps.db, query);
      return c.json({
        sales: await Promise.all(
          page.sales.map((sale) => remainingOf(sale).then((r) => saleView(sale, r))),
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
