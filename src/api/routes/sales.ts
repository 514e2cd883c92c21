import { Hono } from 'hono';
import type { ApiDeps } from '../deps.js';
import type { ApiMetrics } from '../../observability/metrics.js';
import { ApiError } from '../api-error.js';
import { requireBuyer, type BuyerEnv } from '../middleware/auth.js';
import {
  idempotencyKeySchema,
  parseSaleId,
  purchaseBodySchema,
  readJson,
  badRequestFrom,
  rejectQuery,
} from '../validation.js';
import { findSale } from '../../db/sales-repository.js';
import { saleView } from '../sale-view.js';
import { purchase } from '../purchase.js';
import { shedWhenOverloaded } from '../load-shedding.js';

export function salesRoutes(deps: ApiDeps, metrics: ApiMetrics) {
  return new Hono<BuyerEnv>()
    .use('/:saleId/purchase', shedWhenOverloaded(deps.admission, metrics))
    .get('/:saleId', async (c) => {
      const saleId = parseSaleId(c.req.param('saleId'));
      rejectQuery(c.req.query());
      const sale = await findSale(deps.db, saleId);
      if (!sale) throw new ApiError(404, 'SALE_NOT_FOUND', 'no such sale');
      const remaining = (await deps.gate.remaining(saleId)) ?? sale.stock - sale.sold;
      return c.json(saleView(sale, remaining));
    })
    .post('/:saleId/purchase', requireBuyer(deps.config.jwtSecret), async (c) => {
      const saleId = parseSaleId(c.req.param('saleId'));
      rejectQuery(c.req.query());
      const rawKey = c.req.header('idempotency-key');
      const idempotencyKey =
        rawKey === undefined ? undefined : badRequestFrom(idempotencyKeySchema, rawKey);
      const { quantity } = await readJson(c.req, purchaseBodySchema, {});
      // Everything is validated before this line: the gate is the first Redis call.
      const accepted = await purchase({ ...deps, logger: c.var.logger }, metrics, {
        saleId,
        buyer: c.get('buyer'),
        quantity,
        idempotencyKey,
      });
      return c.json(accepted, 202);
    });
}
