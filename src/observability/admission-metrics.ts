import { Counter, Gauge, type Registry } from 'prom-client';

// The adaptive admission's state (src/api/admission/). Summed over API_PROCESSES by the
// cluster's aggregation, except the pressures, where the most loaded process is what matters.
export function admissionMetrics(registry: Registry) {
  return {
    limit: new Gauge({
      name: 'flashline_admission_limit',
      help: 'Purchases the API lets in flight at once (adaptive, per process; summed)',
      registers: [registry],
    }),
    inFlight: new Gauge({
      name: 'flashline_admission_in_flight',
      help: 'Purchases in flight at the end of the last admission window',
      registers: [registry],
    }),
    floor: new Gauge({
      name: 'flashline_admission_floor',
      help: 'Concurrency of the best recent goodput, below which only memory rules cut the limit',
      registers: [registry],
    }),
    shed: new Counter({
      name: 'flashline_admission_shed_total',
      help: 'Purchases answered 503 because the admission limit was full',
      registers: [registry],
    }),
    changes: new Counter({
      name: 'flashline_admission_limit_changes_total',
      help: 'Changes of the admission limit, by the signal that drove them and direction',
      labelNames: ['signal', 'direction'],
      registers: [registry],
    }),
    pressure: new Gauge({
      name: 'flashline_admission_pressure',
      help: 'Last window: event-loop CPU, heap/limit, RSS/ceiling (0..1), latency gradient',
      labelNames: ['signal'],
      aggregator: 'max',
      registers: [registry],
    }),
  };
}
export type AdmissionMetrics = ReturnType<typeof admissionMetrics>;
