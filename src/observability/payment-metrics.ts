import { type Registry } from 'prom-client';
import { counter, histogram } from './instruments.js';

// The payment window (API.md, Payment), counted where each transition happens: the API pays
// and cancels (and expires an order a late payment finds due), the worker's expiry jobs and
// the compensator's sweep expire. Summed over processes, each transition is counted once,
// by the writer whose guarded update took effect.
export function paymentMetrics(registry: Registry, lateAfterSeconds: number) {
  const orders = counter(
    registry,
    'flashline_order_payments_total',
    'Confirmed orders that left the payment window, by how: paid, expired or cancelled',
    ['outcome'],
  );
  for (const outcome of ['paid', 'expired', 'cancelled']) orders.inc({ outcome }, 0);
  const timeToPay = histogram(
    registry,
    'flashline_order_time_to_payment_seconds',
    'Time from an order being confirmed to its payment being accepted',
    [1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 86_400],
  );
  const expiryDelay = histogram(
    registry,
    'flashline_order_expiry_delay_seconds',
    'How long after payBy an order was expired',
    [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
  );
  const lateExpiries = counter(
    registry,
    'flashline_order_expiries_late_total',
    `Orders expired more than ${lateAfterSeconds} s after payBy, by who expired them`,
    ['by'],
  );
  const webhooks = counter(
    registry,
    'flashline_payment_webhooks_total',
    'Payment webhook calls, by answer',
    ['result'],
  );
  const unitsReturned = counter(
    registry,
    'flashline_order_units_returned_total',
    'Units of expired or cancelled orders given back to their sale in Redis',
  );
  return {
    paid: (secondsSinceConfirmed: number) => {
      orders.inc({ outcome: 'paid' });
      timeToPay.observe(Math.max(0, secondsSinceConfirmed));
    },
    cancelled: () => orders.inc({ outcome: 'cancelled' }),
    expired: (lateSeconds: number, by: 'job' | 'sweep' | 'webhook' | 'cancel') => {
      orders.inc({ outcome: 'expired' });
      expiryDelay.observe(Math.max(0, lateSeconds));
      if (lateSeconds > lateAfterSeconds) lateExpiries.inc({ by });
    },
    returned: (units: number) => unitsReturned.inc(units),
    webhook: (result: string) => webhooks.inc({ result }),
  };
}
export type PaymentMetrics = ReturnType<typeof paymentMetrics>;
