import { Counter, Gauge, type Registry } from 'prom-client';

// The names the dashboard (ops/grafana) and the README rely on.
export function compensatorMetrics(registry: Registry) {
  return {
    deadLetters: new Counter({
      name: 'flashline_dead_letters_total',
      help: 'Dead letters handled, by result: returned, already_returned, confirmed, parked, retried',
      labelNames: ['result'],
      registers: [registry],
    }),
    stockReturned: new Counter({
      name: 'flashline_stock_returned_units_total',
      help: 'Units given back to sales after failed orders, by the compensator and the reconciler',
      registers: [registry],
    }),
    drift: new Gauge({
      name: 'flashline_reconciler_drift_units',
      help: 'Redis remaining minus (stock - sold - in flight) at the last stable check, by sale',
      labelNames: ['sale'],
      registers: [registry],
    }),
    repairs: new Counter({
      name: 'flashline_reconciler_repairs_total',
      help: 'Times the reconciler set a sale remaining back to stock - sold - in flight',
      registers: [registry],
    }),
    passes: new Counter({
      name: 'flashline_reconciler_passes_total',
      help: 'Reconciler passes by result (ok, failed: an error or its deadline) and kind (routine, repair after a Redis loss, expiry_sweep: the payment window sweep)',
      labelNames: ['result', 'kind'],
      registers: [registry],
    }),
    redisLosses: new Counter({
      name: 'flashline_redis_lost_state_total',
      help: 'Times the compensator found Redis to be a new server (restarted or failed over) and repaired',
      registers: [registry],
    }),
    reconciledOrders: new Counter({
      name: 'flashline_reconciled_orders_total',
      help: 'Stale reservations the reconciler settled, by result',
      labelNames: ['result'],
      registers: [registry],
    }),
  };
}

export type CompensatorMetrics = ReturnType<typeof compensatorMetrics>;
