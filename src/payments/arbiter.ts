import type { PaymentMetrics } from '../observability/payment-metrics.js';
import { markPaid, markReturning, readOrder, type OrderRow } from '../db/payments-repository.js';
import { finishReturn, type GiveBackDeps } from '../orders/give-back.js';

export type ArbiterDeps = GiveBackDeps & {
  metrics?: PaymentMetrics | undefined;
  // Fault injection (FAULT_KILL_AFTER_EXPIRY_COMMIT): runs between an expiry's commit and
  // its units' return, the crash window the sweep closes.
  afterExpiryCommit?: (() => void) | undefined;
};

export type ExpiredBy = 'job' | 'sweep' | 'webhook' | 'cancel';

export type PayResult =
  | { kind: 'paid'; order: OrderRow }
  // The same paymentId again: the first answer.
  | { kind: 'replayed'; order: OrderRow }
  | { kind: 'not_found' }
  // The window had passed or the buyer cancelled: the provider must refund.
  | { kind: 'expired'; order: OrderRow }
  | { kind: 'not_payable'; why: string; order: OrderRow };

export type CancelResult =
  | { kind: 'cancelled'; order: OrderRow }
  | { kind: 'not_found' }
  | { kind: 'not_cancellable'; why: string; order: OrderRow };

export type ExpireResult =
  | { kind: 'expired'; order: OrderRow }
  | { kind: 'not_due'; payBy: Date }
  // Paid, cancelled, expired by another writer, or not of a sale with a window.
  | { kind: 'settled'; status: OrderRow['status'] }
  | { kind: 'not_found' };

// The order row decides (docs/failure-model.md, the payment window): each transition out of
// `confirmed` is one guarded UPDATE, and only the writer whose update took effect reports it.
// Returning the units to Redis comes after the commit and is finished by whoever finds it
// unfinished (finishReturn is idempotent), so a crash between the two only delays it.

// A row change and a concurrent read may cross; a few rounds settle it.
const rounds = 3;

// Where a pay or a cancel that did not take stands, alike for both: why it cannot go on, or
// the order whose window had passed (expired or cancelled by another writer, or found due and
// expired here, by `by`). Null: the row changed meanwhile and is read again.
type Stop = { why: string } | { expired: OrderRow } | null;

async function stopOf(
  deps: ArbiterDeps,
  row: OrderRow & { due: boolean },
  by: ExpiredBy,
  round: number,
): Promise<Stop> {
  switch (row.status) {
    case 'paid':
      return { why: 'the order is paid' };
    case 'expired':
    case 'cancelled':
      return { expired: row };
    case 'failed':
      return { why: 'the order failed' };
    case 'pending':
      return { why: 'the order is not confirmed yet' };
    case 'confirmed':
      if (!row.payBy) return { why: 'the sale has no payment window' };
      if (row.due) {
        // A payment or a cancel after payBy loses to the expiry, which it carries out itself.
        const expired = await expireOrder(deps, row.id, by);
        if (expired.kind === 'expired') return { expired: expired.order };
      }
      return round + 1 >= rounds ? { why: 'the order is changing; try again' } : null;
  }
}

export async function payOrder(
  deps: ArbiterDeps,
  orderId: string,
  paymentId: string,
): Promise<PayResult> {
  for (let round = 0; ; round++) {
    const paid = await markPaid(deps.db, orderId, paymentId);
    if (paid) {
      deps.metrics?.paid(((paid.paidAt ?? new Date()).getTime() - paid.createdAt.getTime()) / 1000);
      return { kind: 'paid', order: paid };
    }
    const row = await readOrder(deps.db, orderId);
    if (!row) return { kind: 'not_found' };
    if (row.status === 'paid') {
      return row.paymentId === paymentId
        ? { kind: 'replayed', order: row }
        : { kind: 'not_payable', why: 'the order was paid with another paymentId', order: row };
    }
    const stop = await stopOf(deps, row, 'webhook', round);
    if (stop && 'expired' in stop) return { kind: 'expired', order: stop.expired };
    if (stop) return { kind: 'not_payable', why: stop.why, order: row };
  }
}

export async function cancelOrder(
  deps: ArbiterDeps,
  orderId: string,
  buyer: string,
): Promise<CancelResult> {
  for (let round = 0; ; round++) {
    const cancelled = await markReturning(deps.db, orderId, 'cancelled', buyer);
    if (cancelled) {
      deps.metrics?.cancelled();
      // The cancel has happened: a Redis that fails now delays the return (the sweep finishes
      // it), not the buyer's answer.
      await finishReturn(deps, cancelled).catch((error: unknown) =>
        deps.logger.warn({ err: error, orderId }, 'cancelled; units left for the sweep to return'),
      );
      return { kind: 'cancelled', order: cancelled };
    }
    const row = await readOrder(deps.db, orderId);
    // Another buyer's order is answered exactly like a missing one.
    if (!row || row.userId !== buyer) return { kind: 'not_found' };
    // Cancelling twice answers the first cancel's order.
    if (row.status === 'cancelled') return { kind: 'cancelled', order: row };
    const stop = await stopOf(deps, row, 'cancel', round);
    if (stop && 'expired' in stop) {
      return { kind: 'not_cancellable', why: 'the order expired', order: stop.expired };
    }
    if (stop) return { kind: 'not_cancellable', why: stop.why, order: row };
  }
}

// Expires the order if its window has passed by the database clock; never before.
export async function expireOrder(
  deps: ArbiterDeps,
  orderId: string,
  by: ExpiredBy,
): Promise<ExpireResult> {
  const expired = await markReturning(deps.db, orderId, 'expired');
  if (expired) {
    deps.afterExpiryCommit?.();
    deps.metrics?.expired(expired.lateSeconds, by);
    deps.logger.info(
      { orderId, saleId: expired.saleId, lateSeconds: expired.lateSeconds, by },
      'order expired unpaid',
    );
    await finishReturn(deps, expired);
    return { kind: 'expired', order: expired };
  }
  const row = await readOrder(deps.db, orderId);
  if (!row) return { kind: 'not_found' };
  if (row.status === 'confirmed' && row.payBy && !row.due) {
    return { kind: 'not_due', payBy: row.payBy };
  }
  // Expired or cancelled by a writer that may have died before the return: finish it.
  if ((row.status === 'expired' || row.status === 'cancelled') && !row.returnedAt) {
    await finishReturn(deps, row);
  }
  return { kind: 'settled', status: row.status };
}
