import { Hono } from 'hono';
import { arbiterDeps, type ApiDeps } from '../deps.js';
import { ApiError } from '../api-error.js';
import { requireBuyer, type BuyerEnv } from '../middleware/auth.js';
import { parseOrderId, rejectQuery } from '../validation.js';
import { findOrder } from '../../db/orders-repository.js';
import { orderStatusOf } from '../purchase.js';
import { orderView } from '../../orders/order-view.js';
import { cancelOrder } from '../../payments/arbiter.js';
import type { PaymentMetrics } from '../../observability/payment-metrics.js';
import { logOf } from '../middleware/request-logger.js';

const notFound = () => new ApiError(404, 'ORDER_NOT_FOUND', 'no such order');

export function ordersRoutes(deps: ApiDeps, payments: PaymentMetrics) {
  return (
    new Hono<BuyerEnv>()
      .get('/:orderId', requireBuyer(deps.buyers), async (c) => {
        const { orderId, saleId } = parseOrderId(c.req.param('orderId'));
        rejectQuery(c.req.query());
        const buyer = c.get('buyer');
        // A buyer's order is personal: no shared cache may keep it.
        c.header('cache-control', 'private, no-store');
        const row = await findOrder(deps.db, orderId);
        if (row) {
          // Another buyer's order is answered exactly like a missing one.
          if (row.userId !== buyer) throw notFound();
          return c.json(orderView(row));
        }
        // No row yet: the order is in flight, and its reservation tells where it stands.
        const reservation = await deps.gate.reservation(saleId, orderId);
        if (!reservation || reservation.buyer !== buyer) throw notFound();
        const at = reservation.reservedAt.toISOString();
        return c.json({
          orderId,
          saleId,
          userId: buyer,
          quantity: reservation.quantity,
          status: orderStatusOf(reservation.state),
          ...(reservation.reason ? { reason: reservation.reason } : {}),
          createdAt: at,
          updatedAt: at,
        });
      })
      // API.md, Payment: the buyer gives a confirmed order up before paying; its units go back.
      .post('/:orderId/cancel', requireBuyer(deps.buyers), async (c) => {
        const { orderId, saleId } = parseOrderId(c.req.param('orderId'));
        rejectQuery(c.req.query());
        const buyer = c.get('buyer');
        c.header('cache-control', 'private, no-store');
        const log = logOf(c, deps.logger);
        const result = await cancelOrder(arbiterDeps(deps, log, payments), orderId, buyer);
        switch (result.kind) {
          case 'cancelled':
            log.info({ orderId }, 'order cancelled by its buyer');
            return c.json(orderView(result.order));
          case 'not_cancellable':
            throw new ApiError(409, 'ORDER_NOT_CANCELLABLE', result.why);
          case 'not_found': {
            // In flight (no row yet) and the buyer's own: not cancellable yet, not missing.
            const reservation = await deps.gate.reservation(saleId, orderId);
            if (reservation?.buyer === buyer && reservation.state !== 'released') {
              throw new ApiError(409, 'ORDER_NOT_CANCELLABLE', 'the order is not confirmed yet');
            }
            throw notFound();
          }
        }
      })
  );
}
