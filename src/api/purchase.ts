import type { ApiDeps } from './deps.js';
import type { ApiMetrics } from '../observability/metrics.js';
import { ApiError, unavailable } from './api-error.js';
import { mintOrderId } from '../orders/order-id.js';
import { topology } from '../broker/topology.js';
import { insertFailedOrder } from '../db/orders-repository.js';
import type { OrderMessage } from '../broker/messages.js';
import type { ReservationState, ReserveOutcome } from '../gate/outcomes.js';
import type { CachedRefusal } from './sale-cache.js';

export type PurchaseRequest = {
  saleId: number;
  buyer: string;
  quantity: number;
  idempotencyKey?: string | undefined;
};

export type PurchaseAccepted = { orderId: string; status: 'pending' | 'confirmed' | 'failed' };

export function orderStatusOf(state: ReservationState): PurchaseAccepted['status'] {
  switch (state) {
    case 'pending':
    case 'committing':
      return 'pending';
    case 'confirmed':
      return 'confirmed';
    case 'released':
      return 'failed';
  }
}

type Refusal = Exclude<ReserveOutcome, { kind: 'reserved' } | { kind: 'replayed' }>;

function refusalError(refusal: Refusal): ApiError {
  switch (refusal.kind) {
    case 'sold_out':
      return new ApiError(409, 'SOLD_OUT', 'not enough stock left');
    case 'limit_reached':
      return new ApiError(409, 'LIMIT_REACHED', 'this buyer already holds the per-user limit');
    case 'quantity_over_limit':
      return new ApiError(400, 'BAD_REQUEST', 'quantity exceeds the per-user limit');
    case 'not_found':
      return new ApiError(404, 'SALE_NOT_FOUND', 'no such sale');
    case 'not_started':
      return new ApiError(403, 'SALE_NOT_STARTED', 'the sale has not started');
    case 'ended':
      return new ApiError(403, 'SALE_ENDED', 'the sale has ended');
    case 'rate_limited':
      return new ApiError(429, 'RATE_LIMITED', 'too many requests', {
        'retry-after': String(Math.max(1, Math.ceil(refusal.retryAfterMs / 1000))),
      });
  }
}

// A sold-out storm answers the same few refusals thousands of times a second: they are built
// once, since capturing a stack trace for each is a visible share of that answer's cost.
const cachedRefusalErrors: Record<CachedRefusal, ApiError> = {
  sold_out: refusalError({ kind: 'sold_out' }),
  not_started: refusalError({ kind: 'not_started' }),
  ended: refusalError({ kind: 'ended' }),
  quantity_over_limit: refusalError({ kind: 'quantity_over_limit' }),
};

const outcomeLabel = (kind: Refusal['kind']) =>
  kind === 'quantity_over_limit' ? 'limit_reached' : kind;

// Reserve in Redis, then publish with a confirm; answer 202 only once the broker holds the
// order. If the publish fails, give the reservation back so that a 503 leaves nothing held.
// A sale this process knows is sold out is refused from the local cache, without Redis; a
// request with an Idempotency-Key always asks the gate, which may replay its first answer.
export async function purchase(
  deps: ApiDeps,
  metrics: ApiMetrics,
  request: PurchaseRequest,
): Promise<PurchaseAccepted> {
  if (deps.saleCache && request.idempotencyKey === undefined) {
    const cached = deps.saleCache.refusal(request.saleId, request.quantity, Date.now());
    if (cached) {
      metrics.saleCacheAnswers.inc({ outcome: cached });
      metrics.gateOutcomes.inc({ outcome: outcomeLabel(cached) });
      throw cachedRefusalErrors[cached];
    }
  }
  // With the broker away no order can be queued: refuse before reserving anything.
  if (!deps.broker.connected) {
    metrics.gateOutcomes.inc({ outcome: 'unavailable' });
    throw unavailable();
  }
  const orderId = mintOrderId(request.saleId);
  let outcome;
  try {
    outcome = await deps.gate.reserve({ ...request, orderId });
  } catch (error) {
    metrics.gateOutcomes.inc({ outcome: 'unavailable' });
    deps.logger.warn({ err: error, saleId: request.saleId }, 'reserve failed: redis unavailable');
    throw unavailable();
  }
  if (outcome.kind === 'replayed') {
    metrics.gateOutcomes.inc({ outcome: 'replayed' });
    return { orderId: outcome.orderId, status: orderStatusOf(outcome.state) };
  }
  if (outcome.kind !== 'reserved') {
    metrics.gateOutcomes.inc({ outcome: outcomeLabel(outcome.kind) });
    throw refusalError(outcome);
  }

  const message: OrderMessage = {
    orderId,
    saleId: request.saleId,
    userId: request.buyer,
    quantity: request.quantity,
    // The gate's clock, the one it judged the sale window by: the database guard judges again.
    reservedAt: new Date(outcome.reservedAtMs).toISOString(),
  };
  const started = performance.now();
  try {
    await deps.publisher.publish(topology.ordersExchange, topology.ordersRoutingKey, message, {
      messageId: orderId,
    });
    metrics.publishConfirm.observe((performance.now() - started) / 1000);
    metrics.gateOutcomes.inc({ outcome: 'reserved' });
    return { orderId, status: 'pending' };
  } catch (publishError) {
    return giveBack(deps, metrics, request, message, publishError);
  }
}

async function giveBack(
  deps: ApiDeps,
  metrics: ApiMetrics,
  request: PurchaseRequest,
  message: OrderMessage,
  publishError: unknown,
): Promise<PurchaseAccepted> {
  const { orderId } = message;
  const log = { err: publishError, orderId, saleId: request.saleId };
  try {
    const released = await deps.gate.release(request.saleId, orderId, 'publish_failed');
    // The message did reach the broker and a worker already claimed it: the order is real.
    if (released.kind === 'in_progress') {
      metrics.gateOutcomes.inc({ outcome: 'reserved' });
      return { orderId, status: 'pending' };
    }
    if (request.idempotencyKey) {
      await settleReplayedOrder(deps, message);
      await deps.gate.forgetIdempotencyKey(request.saleId, request.buyer, request.idempotencyKey);
    }
    deps.logger.warn(log, 'publish failed; reservation released');
  } catch (releaseError) {
    // Left pending: the reconciler will fail and release it after its timeout.
    deps.logger.error({ ...log, releaseError }, 'publish failed and release failed');
  }
  metrics.gateOutcomes.inc({ outcome: 'unavailable' });
  throw unavailable('the order could not be queued; nothing was reserved');
}

// A same-key request racing this one may already have been answered 202 with this order id
// (a replay). Its order must end somewhere durable: first-write it `failed`, as the
// compensator would. The units are already back.
async function settleReplayedOrder(deps: ApiDeps, message: OrderMessage): Promise<void> {
  try {
    await insertFailedOrder(
      deps.db,
      {
        id: message.orderId,
        saleId: message.saleId,
        userId: message.userId,
        quantity: message.quantity,
        reservedAt: new Date(message.reservedAt),
      },
      'publish_failed',
    );
  } catch (error) {
    // The released reservation still answers `failed` until its tombstone expires.
    deps.logger.error({ err: error, orderId: message.orderId }, 'could not record failed order');
  }
}
