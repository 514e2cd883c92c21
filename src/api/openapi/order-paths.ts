import { z } from '@hono/zod-openapi';
import { paymentWebhookSchema } from '../validation.js';
import { buyer, errors, json, jsonBody, type Registry } from './describe.js';
import { orderIdParam, orderSchema } from './schemas.js';

const paidSchema = z
  .object({ orderId: z.string(), status: z.literal('paid') })
  .openapi('PaymentAccepted');

// GET /orders/:orderId and its cancel (src/api/routes/orders.ts), and the payment provider's
// webhook (routes/payments.ts).
export function describeOrders(registry: Registry) {
  registry.registerPath({
    method: 'get',
    path: '/orders/{orderId}',
    tags: ['orders'],
    summary: "One of the buyer's own orders",
    security: buyer,
    request: { params: orderIdParam },
    responses: {
      200: json('the order', orderSchema),
      ...errors({
        400: 'BAD_REQUEST: a malformed order id',
        401: 'UNAUTHORIZED',
        404: "ORDER_NOT_FOUND, also for another buyer's order",
      }),
    },
  });
  registry.registerPath({
    method: 'post',
    path: '/orders/{orderId}/cancel',
    tags: ['orders'],
    summary: 'Give a confirmed order up before paying: its units go back on sale',
    security: buyer,
    request: { params: orderIdParam },
    responses: {
      200: json('the cancelled order', orderSchema),
      ...errors({
        400: 'BAD_REQUEST',
        401: 'UNAUTHORIZED',
        404: 'ORDER_NOT_FOUND',
        409: 'ORDER_NOT_CANCELLABLE: paid, expired, failed or not confirmed yet',
      }),
    },
  });
  registry.registerPath({
    method: 'post',
    path: '/payments/webhook',
    tags: ['payments'],
    summary: "The payment provider's notification that an order is paid",
    description:
      'A repeat with the same paymentId answers the same. The signature is checked over the ' +
      'raw body before anything else is read.',
    security: [{ paymentSignature: [] }],
    request: { body: jsonBody(paymentWebhookSchema) },
    responses: {
      200: json('the order is paid', paidSchema),
      ...errors({
        400: 'BAD_REQUEST',
        401: 'UNAUTHORIZED: a missing or wrong X-Signature',
        404: 'ORDER_NOT_FOUND',
        409: 'ORDER_EXPIRED (refund the payment) or ORDER_NOT_PAYABLE',
        413: 'PAYLOAD_TOO_LARGE',
      }),
    },
  });
}
