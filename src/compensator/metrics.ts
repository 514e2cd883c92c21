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
    reconciledOrders: new Counter({
      name: 'flashline_reconciled_orders_total',
      help: 'Stale reservations the reconciler settled, by result',
      labelNames: ['result'],
      registers: [registry],
    }),
  };
}
