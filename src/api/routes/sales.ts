import { Hono } from 'hono';
import type { ApiDeps } from '../deps.js';
import type { ApiMetrics } from '../../observability/metrics.js';
import { ApiError, errorResponse } from '../api-error.js';
import { authenticateBuyer } from '../middleware/auth.js';
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
import { logOf } from '../middleware/request-logger.js';
import { requireProofOfWork, saleWork } from '../proof-of-work-check.js';
import { requirePass, roomCounts } from '../room-check.js';

export function salesRoutes(deps: ApiDeps, metrics: ApiMetrics) {
  return (
    new Hono()
      .get('/:saleId', async (c) => {
        const saleId = parseSaleId(c.req.param('saleId'));
        rejectQuery(c.req.query());
        const sale = await findSale(deps.db, saleId);
        if (!sale) throw new ApiError(404, 'SALE_NOT_FOUND', 'no such sale');
        const remaining = (await deps.gate.remaining(saleId)) ?? sale.stock - sale.sold;
        return c.json(saleView(sale, remaining, await roomCounts(deps, sale)));
      })
      // One handler, no middleware. A known sold-out sale and admission were judged before
      // the app (../purchase-front.ts); here the contract's order: 401 for credentials, 400
      // for the request, then the sale's own answer.
      .post('/:saleId/purchase', async (c) => {
        const verified = authenticateBuyer(c.req.header('authorization'), deps.buyers);
        const buyer = typeof verified === 'string' ? verified : await verified;
        const saleId = parseSaleId(c.req.param('saleId'));
        rejectQuery(c.req.query());
        const rawKey = c.req.header('idempotency-key');
        const idempotencyKey =
          rawKey === undefined ? undefined : badRequestFrom(idempotencyKeySchema, rawKey);
        const { quantity } = await readJson(c.req, purchaseBodySchema, {});
        // Proof of work comes after the 401 and the 400 (API.md), before the sale's answers;
        // a sale with a waiting room asks for it at the join, and here for a pass.
        let work = saleWork(deps, saleId);
        if (work instanceof Promise) work = await work;
        const pass = work.room
          ? requirePass(deps, saleId, buyer, c.req.header('x-queue-pass'))
          : null;
        if (work.asks && !work.room) {
          await requireProofOfWork(deps, saleId, buyer, c.req.header('x-altcha'), idempotencyKey);
        }
        // Everything is validated before this line: the gate is the first Redis call.
        const answer = await purchase(
          deps,
          metrics,
          { saleId, buyer, quantity, idempotencyKey },
          () => logOf(c, deps.logger),
        );
        if (answer instanceof ApiError) return errorResponse(c, answer);
        if (pass) deps.rooms.passUsed(saleId, pass);
        return c.json(answer, 202);
      })
  );
}
