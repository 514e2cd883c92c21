import type { ServerResponse } from 'node:http';
import { Hono } from 'hono';
import { z } from 'zod';
import type { ApiDeps } from '../deps.js';
import { ApiError, badRequest } from '../api-error.js';
import { requireAdmin } from '../middleware/auth.js';
import { parseSaleId } from '../validation.js';
import { findSale } from '../../db/sales-repository.js';
import { orderStatuses } from '../../db/schema.js';
import { openOrderCursor } from '../../db/order-cursor.js';
import { exportContentTypes, exportFormats, orderExportBody } from '../order-export.js';
import { logOf } from '../middleware/request-logger.js';

export const orderExportQuerySchema = z
  .object({
    status: z.enum(orderStatuses).optional(),
    format: z.enum(exportFormats).default('ndjson'),
  })
  .strict();

// GET /admin/sales/:saleId/orders (API.md, Operating a sale): every order of the sale, streamed
// from a PostgreSQL cursor at the pace the client reads (../order-export.ts). 401, then 400,
// then 404 SALE_NOT_FOUND, then 429 past EXPORT_MAX_CONCURRENT exports in this process.
export function adminOrdersRoutes(deps: ApiDeps) {
  const { maxConcurrent, batchRows, stallSeconds } = deps.config.export;
  let running = 0;
  return new Hono().get('/:saleId/orders', requireAdmin(deps.config.auth.adminToken), async (c) => {
    const saleId = parseSaleId(c.req.param('saleId'));
    const parsed = orderExportQuerySchema.safeParse(c.req.query());
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      const where = first?.path.length ? `${first.path.join('.')}: ` : '';
      throw badRequest(`${where}${first?.message ?? 'invalid query'}`);
    }
    const { status, format } = parsed.data;
    if (!(await findSale(deps.db, saleId))) {
      throw new ApiError(404, 'SALE_NOT_FOUND', 'no such sale');
    }
    if (running >= maxConcurrent) {
      throw new ApiError(429, 'RATE_LIMITED', 'too many order exports at once', {
        'retry-after': '10',
      });
    }
    running++;
    const log = logOf(c, deps.logger);
    const started = performance.now();
    let cursor;
    try {
      cursor = await openOrderCursor(deps.db, saleId, status, batchRows);
    } catch (error) {
      running--;
      throw error;
    }
    log.info({ saleId, status, format }, 'order export started');
    const outgoing = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
    const body = orderExportBody(cursor, {
      format,
      ...(outgoing ? { abort: () => outgoing.destroy() } : {}),
      batchRows,
      stallMs: stallSeconds * 1000,
      done: (outcome, error) => {
        running--;
        const seconds = Math.round(performance.now() - started) / 1000;
        const line = { saleId, status, format, ...outcome, seconds, err: error };
        if (outcome.result === 'done') log.info(line, 'order export finished');
        else log.warn(line, 'order export ended early');
      },
    });
    const headers: Record<string, string> = {
      'content-type': exportContentTypes[format],
      'cache-control': 'no-store',
    };
    if (format === 'csv') {
      headers['content-disposition'] = `attachment; filename="sale-${saleId}-orders.csv"`;
    }
    return c.body(body, 200, headers);
  });
}
