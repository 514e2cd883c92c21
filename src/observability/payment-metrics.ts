import { type Registry } from 'prom-client';
import { instruments } from './instruments.js';

// The payment window (API.md, Payment), counted where each transition happens: the API pays
// and cancels (and expires an order a late payment finds due), the worker's expiry jobs and
// the compensator's sweep expire. Summed over processes, each transition is counted once,
// by the writer whose guarded update took effect.
export function paymentMetrics(registry: Registry, lateAfterSeconds: number) {
  const m = instruments(registry, {
    orders: {
      counter: 'flashline_order_payments_total',
      help: 'Confirmed orders that left the payment window, by how: paid, expired or cancelled',
      labels: ['outcome'],
      zero: ['paid', 'expired', 'cancelled'],
    },
    timeToPay: {
      histogram: 'flashline_order_time_to_payment_seconds',
      help: 'Time from an order being confirmed to its payment being accepted',
      buckets: [1, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 86_400],
    },
    expiryDelay: {
      histogram: 'flashline_order_expiry_delay_seconds',
      help: 'How long after payBy an order was expired',
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300],
    },
    lateExpiries: {
      counter: 'flashline_order_expiries_late_total',
      help: `Orders expired more than ${lateAfterSeconds} s after payBy, by who expired them`,
      labels: ['by'],
    },
    webhooks: {
      counter: 'flashline_payment_webhooks_total',
      help: 'Payment webhook calls, by answer',
      labels: ['result'],
    },
    unitsReturned: {
      counter: 'flashline_order_units_returned_total',
      help: 'Units of expired or cancelled orders given back to their sale in Redis',
    },
  });
  return {
    paid: (secondsSinceConfirmed: number) => {
      m.orders.inc({ outcome: 'paid' });
      m.timeToPay.observe(Math.max(0, secondsSinceConfirmed));
    },
    cancelled: () => m.orders.inc({ outcome: 'cancelled' }),
    expired: (lateSeconds: number, by: 'job' | 'sweep' | 'webhook' | 'cancel') => {
      m.orders.inc({ outcome: 'expired' });
      m.expiryDelay.observe(Math.max(0, lateSeconds));
      if (lateSeconds > lateAfterSeconds) m.lateExpiries.inc({ by });
    },
    returned: (units: number) => m.unitsReturned.inc(units),
    webhook: (result: string) => m.webhooks.inc({ result }),
  };
}
export type PaymentMetrics = ReturnType<typeof paymentMetrics>;
