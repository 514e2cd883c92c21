import { Hono, type Context } from 'hono';
import { arbiterDeps, type ApiDeps } from '../deps.js';
import { ApiError, badRequest } from '../api-error.js';
import { paymentWebhookSchema } from '../validation.js';
import { logOf } from '../middleware/request-logger.js';
import { verifyPaymentSignature } from '../../payments/signature.js';
import { payOrder } from '../../payments/arbiter.js';
import { saleIdOfOrder } from '../../gate/order-id.js';
import type { PaymentMetrics } from '../../observability/payment-metrics.js';

// A real notification is a few hundred bytes; the edge's limit is for every route.
export const maxWebhookBytes = 4 * 1024;

// The order id a refused call claims, for the log only: never trusted, never echoed raw.
function claimedOrderId(body: Buffer): string | undefined {
  try {
    const value = (JSON.parse(body.toString('utf8')) as { orderId?: unknown } | null)?.orderId;
    return typeof value === 'string' && saleIdOfOrder(value) !== null ? value : undefined;
  } catch {
    return undefined;
  }
}

type Refuse = (status: 401 | 400 | 413, error: ApiError, orderId?: string) => ApiError;

// The notification of a call whose signature holds over its raw body, or the refusal of the
// call: the signature is checked before anything else is read from the bytes.
async function verifiedNotification(c: Context, deps: ApiDeps, refuse: Refuse) {
  let body: Buffer;
  try {
    body = Buffer.from(await c.req.arrayBuffer());
  } catch {
    throw refuse(400, badRequest('body could not be read'));
  }
  if (body.length > maxWebhookBytes) {
    throw refuse(
      413,
      new ApiError(413, 'PAYLOAD_TOO_LARGE', `body exceeds ${maxWebhookBytes} bytes`),
    );
  }
  if (
    !verifyPaymentSignature(body, c.req.header('x-signature'), deps.config.payment.webhookSecret)
  ) {
    throw refuse(
      401,
      new ApiError(401, 'UNAUTHORIZED', 'missing or wrong X-Signature'),
      claimedOrderId(body),
    );
  }
  if (Object.keys(c.req.query()).length > 0) {
    throw refuse(400, badRequest('this endpoint takes no query parameters'));
  }
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    throw refuse(400, badRequest('body is not valid JSON'));
  }
  const parsed = paymentWebhookSchema.safeParse(value);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const where = first?.path.length ? `${first.path.join('.')}: ` : '';
    throw refuse(400, badRequest(`${where}${first?.message ?? 'invalid body'}`));
  }
  return parsed.data;
}

// POST /payments/webhook (API.md, Payment): a door into money. The signature is checked
// over the raw bytes before anything else is read from them; a refused call changes nothing;
// every call is logged with its order id, never with the signature or the secret.
export function paymentsRoutes(deps: ApiDeps, payments: PaymentMetrics) {
  return new Hono().post('/webhook', async (c) => {
    const log = logOf(c, deps.logger);
    const refuse: Refuse = (status, error, orderId) => {
      payments.webhook(String(status));
      log.warn({ orderId, status, why: error.message }, 'payment webhook refused');
      return error;
    };
    const { orderId, paymentId } = await verifiedNotification(c, deps, refuse);
    const answer = (status: 200 | 404 | 409, result: string, error?: ApiError) => {
      payments.webhook(result);
      log.info({ orderId, status, result }, 'payment webhook answered');
      if (error) throw error;
      return c.json({ orderId, status: 'paid' as const });
    };
    const saleId = saleIdOfOrder(orderId);
    if (saleId === null) {
      return answer(404, 'not_found', new ApiError(404, 'ORDER_NOT_FOUND', 'no such order'));
    }
    const result = await payOrder(arbiterDeps(deps, log, payments), orderId, paymentId);
    switch (result.kind) {
      case 'paid':
      case 'replayed':
        return answer(200, result.kind);
      case 'expired':
        return answer(
          409,
          'expired',
          new ApiError(
            409,
            'ORDER_EXPIRED',
            `the order is ${result.order.status}: its units are back on sale; refund the payment`,
          ),
        );
      case 'not_payable':
        return answer(409, 'not_payable', new ApiError(409, 'ORDER_NOT_PAYABLE', result.why));
      case 'not_found': {
        const reservation = await deps.gate.reservation(saleId, orderId);
        if (reservation && reservation.state !== 'released') {
          return answer(
            409,
            'not_payable',
            new ApiError(409, 'ORDER_NOT_PAYABLE', 'the order is not confirmed yet'),
          );
        }
        return answer(404, 'not_found', new ApiError(404, 'ORDER_NOT_FOUND', 'no such order'));
      }
    }
  });
}
