import { Gauge, type Registry } from 'prom-client';
import { instruments } from './instruments.js';

// Order events (docs/order-events.md): what the relay published and how late, and what the
// webhook dispatcher delivered. `backlog` is read from PostgreSQL at each scrape.
export function eventsMetrics(
  registry: Registry,
  backlog: () => Promise<{ rows: number; oldestSeconds: number }>,
  // Whether the relay and the dispatcher wait for the drain now (docs/order-events.md).
  drainBehind: () => boolean = () => false,
) {
  const metrics = instruments(registry, {
    published: {
      counter: 'flashline_events_published_total',
      help: 'Order events the relay published to RabbitMQ (a repeat after a crash counts again)',
    },
    publishLag: {
      histogram: 'flashline_events_publish_lag_seconds',
      help: 'Time from the status change to the broker confirming its event',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
    },
    relayFailures: {
      counter: 'flashline_events_relay_failures_total',
      help: 'Relay passes that failed (PostgreSQL, RabbitMQ or Redis unavailable); retried',
    },
    deliveries: {
      counter: 'flashline_events_webhook_deliveries_total',
      help: 'Webhook delivery attempts, by result: delivered, refused (retried) or dead',
      labels: ['result'],
      zero: ['delivered', 'refused', 'dead'],
    },
    deliveryLag: {
      histogram: 'flashline_events_delivery_lag_seconds',
      help: 'Time from the status change to the receiver acknowledging its webhook',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600],
    },
  });
  const scrape = async (
    gauge: Gauge,
    pick: (b: { rows: number; oldestSeconds: number }) => number,
  ) => gauge.set(pick(await backlog()));
  new Gauge({
    name: 'flashline_events_outbox_backlog',
    help: 'Outbox rows not yet published',
    registers: [registry],
    async collect() {
      await scrape(this, (b) => b.rows).catch(() => undefined);
    },
  });
  new Gauge({
    name: 'flashline_events_outbox_oldest_seconds',
    help: 'Age of the oldest outbox row not yet published',
    registers: [registry],
    async collect() {
      await scrape(this, (b) => b.oldestSeconds).catch(() => undefined);
    },
  });
  new Gauge({
    name: 'flashline_events_drain_behind',
    help: 'Whether the drain is behind, so that the relay and webhooks wait for it (1) or not (0)',
    registers: [registry],
    collect() {
      this.set(drainBehind() ? 1 : 0);
    },
  });
  return metrics;
}

export type EventsMetrics = ReturnType<typeof eventsMetrics>;
