import type { Database } from '../db/client.js';
import type { Gate } from '../gate/gate.js';
import type { ReturnOutcome } from '../gate/outcomes.js';
import type { Logger } from '../observability/logger.js';
import type { PaymentMetrics } from '../observability/payment-metrics.js';
import { markReturned, type OrderRow, type Returning } from '../db/payments-repository.js';

export type GiveBackDeps = {
  db: Database;
  gate: Pick<Gate, 'returnUnits'>;
  logger: Logger;
  metrics?: Pick<PaymentMetrics, 'returned'> | undefined;
};

// The order lifecycle's last step for an order that left as expired or cancelled, shared by
// the payments arbiter, the worker, the compensator and the sale loader.
export type OrderToGiveBack = Pick<
  OrderRow,
  'id' | 'saleId' | 'userId' | 'quantity' | 'reservedAt' | 'status'
> &
  Partial<Pick<OrderRow, 'shard'>>;

// Gives the units of an expired or cancelled order back in Redis, then records that they
// are back. Safe to call any number of times, from any process: the script returns them once.
export async function finishReturn(
  deps: GiveBackDeps,
  order: OrderToGiveBack,
): Promise<ReturnOutcome> {
  const reason: Returning = order.status === 'cancelled' ? 'cancelled' : 'expired';
  const outcome = await deps.gate.returnUnits(
    order.saleId,
    {
      orderId: order.id,
      buyer: order.userId,
      quantity: order.quantity,
      reservedAt: order.reservedAt,
      shard: order.shard ?? null,
    },
    reason,
  );
  if (outcome.kind === 'pending') {
    // A reservation still pending cannot belong to a final row: leave it for the drift check.
    deps.logger.error({ orderId: order.id }, 'returned order has a pending reservation');
    return outcome;
  }
  if (outcome.kind === 'returned') deps.metrics?.returned(order.quantity);
  await markReturned(deps.db, order.id);
  return outcome;
}
