import { Hono } from 'hono';
import type { ApiDeps } from '../deps.js';
import { ApiError } from '../api-error.js';
import { requireBuyer, type BuyerEnv } from '../middleware/auth.js';
import { parseOrderId, rejectQuery } from '../validation.js';
import { findOrder } from '../../db/orders-repository.js';
import { orderStatusOf } from '../purchase.js';

const notFound = () => new ApiError(404, 'ORDER_NOT_FOUND', 'no such order');

export function ordersRoutes(deps: ApiDeps) {
  return new Hono<BuyerEnv>().get('/:orderId', requireBuyer(deps.config.jwtSecret), async (c) => {
    const { orderId, saleId } = parseOrderId(c.req.param('orderId'));
    rejectQuery(c.req.query());
    const buyer = c.get('buyer');
    // A buyer's order is personal: no shared cache may keep it.
    c.header('cache-control', 'private, no-store');
    const row = await findOrder(deps.db, orderId);
    if (row) {
      // Another buyer's order is answered exactly like a missing one.
      if (row.userId !== buyer) throw notFound();
      return c.json({
        orderId: row.id,
        saleId: row.saleId,
        userId: row.userId,
        quantity: row.quantity,
        status: row.status,
        ...(row.reason ? { reason: row.reason } : {}),
        createdAt: row.createdAt.toISOString(),
        updatedAt: row.updatedAt.toISOString(),
      });
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
  });
}
