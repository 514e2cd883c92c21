import { Queue, Worker, type ConnectionOptions, type Job } from 'bullmq';
import { Webhook } from 'standardwebhooks';
import type { Config } from '../config.js';
import type { Logger } from '../observability/logger.js';
import type { EventsMetrics } from '../observability/events-metrics.js';
import { bullPrefix, webhookQueueName } from '../queues/names.js';
import type { OrderEvent } from './event.js';

export class WebhookRefusedError extends Error {
  override readonly name = 'WebhookRefusedError';
}

// The retry delay after `attemptsMade` failed deliveries: a second, doubling, capped at
// EVENTS_WEBHOOK_MAX_DELAY_SECONDS, with full jitter over its upper half so that the retries of
// a receiver's outage do not all arrive in the same second.
export function webhookDelayMs(attemptsMade: number, maxDelayMs: number): number {
  const ceiling = Math.min(maxDelayMs, 1000 * 2 ** Math.max(0, attemptsMade - 1));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

const backoffType = 'flashline-capped';

export function createWebhookQueue(config: Config, connection: ConnectionOptions) {
  return new Queue<OrderEvent>(webhookQueueName, {
    connection,
    prefix: bullPrefix(config),
    defaultJobOptions: {
      attempts: config.events.webhookAttempts,
      backoff: { type: backoffType },
      // Kept as long as the outbox keeps its rows: a relay that sends an event again within
      // that time adds nothing (jobId = event id), so the receiver gets no second delivery.
      removeOnComplete: { age: Math.max(1, config.events.retentionHours) * 3600 },
      // A delivery that used all its attempts stays in the failed set: the dead letters, seen
      // in bull-board and retried from there once the receiver is back.
      removeOnFail: false,
    },
  });
}

// Adds one job per event, its id the event's, so an event relayed twice is delivered once.
export async function enqueueWebhooks(
  queue: Queue<OrderEvent>,
  events: readonly OrderEvent[],
): Promise<void> {
  await queue.addBulk(
    events.map((event) => ({ name: event.type, data: event, opts: { jobId: event.id } })),
  );
}

export type DispatcherDeps = {
  url: string;
  secret: string;
  timeoutMs: number;
  logger: Logger;
  metrics?: EventsMetrics | undefined;
};

// One delivery: the event signed per the Standard Webhooks specification (webhook-id is the
// event's id, so a receiver drops a repeat; the timestamp and signature are this attempt's).
// Anything but a 2xx is a failed attempt, retried by BullMQ.
export function createWebhookDelivery(deps: DispatcherDeps) {
  const signer = new Webhook(deps.secret);
  return async (job: Job<OrderEvent>): Promise<void> => {
    const payload = JSON.stringify(job.data);
    const at = new Date();
    const response = await fetch(deps.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'webhook-id': job.data.id,
        'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
        'webhook-signature': signer.sign(job.data.id, at, payload),
      },
      body: payload,
      signal: AbortSignal.timeout(deps.timeoutMs),
    });
    // Read to the end, so the connection goes back to the pool.
    await response.arrayBuffer().catch(() => undefined);
    if (!response.ok) throw new WebhookRefusedError(`the receiver answered ${response.status}`);
    deps.metrics?.deliveries.inc({ result: 'delivered' });
    const lag = (Date.now() - Date.parse(job.data.occurredAt)) / 1000;
    deps.metrics?.deliveryLag.observe(lag);
  };
}

export function startWebhookDispatcher(
  config: Config,
  connection: ConnectionOptions,
  deps: DispatcherDeps,
): Worker<OrderEvent> {
  const maxDelayMs = config.events.webhookMaxDelaySeconds * 1000;
  const worker = new Worker<OrderEvent>(webhookQueueName, createWebhookDelivery(deps), {
    connection,
    prefix: bullPrefix(config),
    concurrency: config.events.webhookConcurrency,
    lockDuration: Math.max(config.worker.lockDurationMs, config.events.webhookTimeoutMs * 2),
    stalledInterval: config.worker.stalledIntervalMs,
    settings: { backoffStrategy: (attemptsMade) => webhookDelayMs(attemptsMade, maxDelayMs) },
  });
  worker.on('error', (error) => deps.logger.error({ err: error }, 'webhook dispatcher error'));
  worker.on('failed', (job, error) => {
    if (!job) return;
    if (job.attemptsMade < (job.opts.attempts ?? 1)) {
      deps.metrics?.deliveries.inc({ result: 'refused' });
      return;
    }
    deps.metrics?.deliveries.inc({ result: 'dead' });
    deps.logger.error(
      { err: error, eventId: job.data.id, attempts: job.attemptsMade },
      'order event webhook dead-lettered',
    );
  });
  return worker;
}
