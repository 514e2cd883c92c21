import { Gauge, type Registry } from 'prom-client';
import { counter } from './instruments.js';

export const bridgeFailureReasons = ['unparseable', 'enqueue_failed'] as const;
export type BridgeFailureReason = (typeof bridgeFailureReasons)[number];

export function bridgeMetrics(
  registry: Registry,
  sampleQueueDepths: () => Promise<ReadonlyMap<string, number>>,
) {
  const forwarded = counter(
    registry,
    'flashline_bridge_forwarded_total',
    'Order messages stored as BullMQ jobs and acked',
  );
  const failures = counter(
    registry,
    'flashline_bridge_failures_total',
    'Order messages not forwarded, by reason',
    ['reason'],
  );
  // Zero series from the start, so rate() and alerts see them before the first failure.
  for (const reason of bridgeFailureReasons) failures.inc({ reason }, 0);
  new Gauge({
    name: 'flashline_rabbitmq_queue_depth',
    help: 'Messages ready in a RabbitMQ queue, sampled at scrape',
    labelNames: ['queue'],
    registers: [registry],
    async collect() {
      const depths = await sampleQueueDepths().catch(() => new Map<string, number>());
      for (const [queue, depth] of depths) this.set({ queue }, depth);
    },
  });
  return {
    forwarded: () => forwarded.inc(),
    failed: (reason: BridgeFailureReason) => failures.inc({ reason }),
  };
}
