import type { ApiDeps } from './deps.js';
import type { Logger } from '../observability/logger.js';
import type { ApiMetrics } from '../observability/metrics.js';
import { ApiError, unavailable } from './api-error.js';
import { insertFailedOrder } from '../db/orders-repository.js';
import type { OrderMessage } from '../broker/messages.js';
import type { ReservationState, ReserveOutcome } from '../gate/outcomes.js';

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

type FixedRefusal = Exclude<Refusal['kind'], 'rate_limited'>;

// A sold-out storm answers the same few refusals thousands of times a second: they are built
// once (with their JSON body, see ApiError), since capturing a stack trace for each is a
// visible share of that answer's cost.
export const fixedRefusals: Record<FixedRefusal, ApiError> = {
  sold_out: new ApiError(409, 'SOLD_OUT', 'not enough stock left'),
  limit_reached: new ApiError(409, 'LIMIT_REACHED', 'this buyer already holds the per-user limit'),
  quantity_over_limit: new ApiError(400, 'BAD_REQUEST', 'quantity exceeds the per-user limit'),
  not_found: new ApiError(404, 'SALE_NOT_FOUND', 'no such sale'),
  not_started: new ApiError(403, 'SALE_NOT_STARTED', 'the sale has not started'),
  ended: new ApiError(403, 'SALE_ENDED', 'the sale has ended'),
  paused: new ApiError(403, 'SALE_PAUSED', 'the sale is paused'),
  // The sale exists but Redis forgot it and it is being loaded back (src/recovery/).
  loading: new ApiError(503, 'UNAVAILABLE', 'the sale is being reloaded; nothing was reserved', {
    'retry-after': '1',
  }),
};

function refusalAnswer(refusal: Refusal): ApiError {
  if (refusal.kind !== 'rate_limited') return fixedRefusals[refusal.kind];
  return new ApiError(429, 'RATE_LIMITED', 'too many requests', {
    'retry-after': String(Math.max(1, Math.ceil(refusal.retryAfterMs / 1000))),
  });
}

const outcomeLabel = (kind: Refusal['kind']) =>
  kind === 'quantity_over_limit' ? 'limit_reached' : kind;

// Reserve in Redis, then publish with a confirm; answer 202 only once the broker holds the
// order. If the publish fails, give the reservation back so that a 503 leaves nothing held.
// A refusal (sold out, limit, rate, window) is an answer, not a failure: it is returned, so
// the storm of them after a sell-out costs no throw; a dependency failing is thrown.
// A sale this process knows is sold out is refused from the local cache, without Redis; a
// request with an Idempotency-Key always asks the gate, which may replay its first answer.
// `log` gives the request's logger; it is only asked for when something is worth a line.
export async function purchase(
  deps: ApiDeps,
  metrics: ApiMetrics,
  request: PurchaseRequest,
  log: () => Logger = () => deps.logger,
): Promise<PurchaseAccepted | ApiError> {
  if (deps.saleCache && request.idempotencyKey === undefined) {
    const cached = deps.saleCache.refusal(request.saleId, Date.now(), request.quantity);
    if (cached) {
      metrics.saleCacheAnswers.inc({ outcome: cached });
      metrics.gateOutcomes.inc({ outcome: outcomeLabel(cached) });
      return fixedRefusals[cached];
    }
  }
  // With the broker away no order can be queued: refuse before reserving anything.
  if (!deps.broker.connected) {
    metrics.gateOutcomes.inc({ outcome: 'unavailable' });
    throw unavailable();
  }
  let orderId: string;
  let outcome;
  try {
    orderId = await deps.gate.mintOrderId(request.saleId, request.buyer);
    outcome = await deps.gate.reserve({ ...request, orderId });
  } catch (error) {
    metrics.gateOutcomes.inc({ outcome: 'unavailable' });
    log().warn({ err: error, saleId: request.saleId }, 'reserve failed: redis unavailable');
    throw unavailable();
  }
  if (outcome.kind === 'replayed') {
    metrics.gateOutcomes.inc({ outcome: 'replayed' });
    return { orderId: outcome.orderId, status: orderStatusOf(outcome.state) };
  }
  if (outcome.kind === 'not_found' && deps.saleRecovery) {
    const missing = await missingSaleOutcome(deps, request.saleId, log);
    metrics.gateOutcomes.inc({ outcome: outcomeLabel(missing.kind) });
    return refusalAnswer(missing);
  }
  if (outcome.kind !== 'reserved') {
    metrics.gateOutcomes.inc({ outcome: outcomeLabel(outcome.kind) });
    return refusalAnswer(outcome);
  }

  const message: OrderMessage = {
    orderId,
    saleId: request.saleId,
    userId: request.buyer,
    quantity: request.quantity,
    // The gate's clock, the one it judged the sale window by: the database guard judges again.
    reservedAt: new Date(outcome.reservedAtMs).toISOString(),
    ...(request.idempotencyKey ? { idempotencyKey: request.idempotencyKey } : {}),
    ...(outcome.shard !== undefined ? { shard: outcome.shard } : {}),
  };
  const started = performance.now();
  try {
    await deps.orders.publish(message);
    metrics.publishConfirm.observe((performance.now() - started) / 1000);
    metrics.gateOutcomes.inc({ outcome: 'reserved' });
    return { orderId, status: 'pending' };
  } catch (publishError) {
    return giveBack(deps, metrics, request, message, publishError, log);
  }
}

// The gate does not know the sale: it does not exist (404), or Redis forgot it and it is
// being loaded back (503, never 404 for a sale that exists).
async function missingSaleOutcome(
  deps: ApiDeps,
  saleId: number,
  log: () => Logger,
): Promise<Refusal> {
  try {
    const answer = await deps.saleRecovery!.onSaleMissing(saleId);
    return { kind: answer === 'absent' ? 'not_found' : 'loading' };
  } catch (error) {
    log().warn({ err: error, saleId }, 'sale missing from redis and postgresql unavailable');
    throw unavailable();
  }
}

async function giveBack(
  deps: ApiDeps,
  metrics: ApiMetrics,
  request: PurchaseRequest,
  message: OrderMessage,
  publishError: unknown,
  log: () => Logger,
): Promise<PurchaseAccepted> {
  const { orderId } = message;
  const fields = { err: publishError, orderId, saleId: request.saleId };
  try {
    const released = await deps.gate.release(request.saleId, orderId, 'publish_failed');
    // The message did reach the broker and a worker already claimed it: the order is real.
    if (released.kind === 'in_progress') {
      metrics.gateOutcomes.inc({ outcome: 'reserved' });
      return { orderId, status: 'pending' };
    }
    if (request.idempotencyKey) {
      await settleReplayedOrder(deps, message, log);
      await deps.gate.forgetIdempotencyKey(request.saleId, request.buyer, request.idempotencyKey);
    }
    log().warn(fields, 'publish failed; reservation released');
  } catch (releaseError) {
    // Left pending: the reconciler will fail and release it after its timeout.
    log().error({ ...fields, releaseError }, 'publish failed and release failed');
  }
  metrics.gateOutcomes.inc({ outcome: 'unavailable' });
  throw unavailable('the order could not be queued; nothing was reserved');
}

// A same-key request racing this one may already have been answered 202 with this order id
// (a replay). Its order must end somewhere durable: first-write it `failed`, as the
// compensator would. The units are already back.
async function settleReplayedOrder(
  deps: ApiDeps,
  message: OrderMessage,
  log: () => Logger,
): Promise<void> {
  try {
    await insertFailedOrder(
      deps.db,
      {
        id: message.orderId,
        saleId: message.saleId,
        userId: message.userId,
        quantity: message.quantity,
        reservedAt: new Date(message.reservedAt),
        shard: message.shard,
      },
      'publish_failed',
    );
  } catch (error) {
    // The released reservation still answers `failed` until its tombstone expires.
    log().error({ err: error, orderId: message.orderId }, 'could not record failed order');
  }
}
