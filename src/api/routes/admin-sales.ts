import { Hono } from 'hono';
import type { ApiDeps } from '../deps.js';
import { ApiError, unavailable } from '../api-error.js';
import { requireAdmin } from '../middleware/auth.js';
import { createSaleSchema, readJson, rejectQuery } from '../validation.js';
import { insertSale, SkuTakenError } from '../../db/sales-repository.js';
import { saleView } from '../sale-view.js';
import { logOf } from '../middleware/request-logger.js';

export function adminSalesRoutes(deps: ApiDeps) {
  return new Hono().use('*', requireAdmin(deps.config.auth.adminToken)).post('/', async (c) => {
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
  });
}
