import { Counter, Gauge, type Registry } from 'prom-client';

export const bridgeFailureReasons = ['unparseable', 'enqueue_failed'] as const;
export type BridgeFailureReason = (typeof bridgeFailureReasons)[number];

export function bridgeMetrics(
  registry: Registry,
  sampleQueueDepths: () => Promise<ReadonlyMap<string, number>>,
) {
  const forwarded = new Counter({
    name: 'flashline_bridge_forwarded_total',
    help: 'Order messages stored as BullMQ jobs and acked',
    registers: [registry],
  });
  const failures = new Counter({
    name: 'flashline_bridge_failures_total',
    help: 'Order messages not forwarded, by reason',
    labelNames: ['reason'],
    registers: [registry],
  });
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
