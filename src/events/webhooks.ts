import { Queue, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Config } from '../config.js';
import type { Logger } from '../observability/logger.js';
import type { EventsMetrics } from '../observability/events-metrics.js';
import { bullPrefix, webhookQueueName } from '../queues/names.js';
import type { RedisClient } from '../redis/connection.js';
import type { OrderEvent } from './event.js';
import { deliverBatch, Slots } from './webhook-batch.js';
import type { DrainWatch } from './drain-watch.js';
import { webhookPoster, WebhookRefusedError } from './webhook-post.js';

export { WebhookRefusedError } from './webhook-post.js';

// The retry delay after `attemptsMade` failed deliveries: a second, doubling, capped at
// EVENTS_WEBHOOK_MAX_DELAY_SECONDS, with full jitter over its upper half so that the retries of
// a receiver's outage do not all arrive in the same second.
export function webhookDelayMs(attemptsMade: number, maxDelayMs: number): number {
  const ceiling = Math.min(maxDelayMs, 1000 * 2 ** Math.max(0, attemptsMade - 1));
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}

const backoffType = 'flashline-capped';

// A job: up to EVENTS_WEBHOOK_BATCH events of one relay batch, in id order. A job's life in
// BullMQ (add, fetch, finish: Lua scripts and round trips) cost more CPU than the delivery
// itself when each event had one. A single event is a job queued by a version before batches.
export type WebhookBatch = { events: OrderEvent[] };
export type WebhookJobData = WebhookBatch | OrderEvent;
const eventsOf = (data: WebhookJobData): OrderEvent[] => ('events' in data ? data.events : [data]);

export type WebhookQueue = Queue<WebhookJobData>;

export function createWebhookQueue(config: Config, connection: ConnectionOptions): WebhookQueue {
  return new Queue<WebhookJobData>(webhookQueueName, {
    connection,
    prefix: bullPrefix(config),
    defaultJobOptions: {
      attempts: config.events.webhookAttempts,
      backoff: { type: backoffType },
      removeOnComplete: { age: retentionSeconds(config) },
      // A job that used all its attempts stays in the failed set with the events it had not
      // delivered: the dead letters, seen in bull-board and retried from there.
      removeOnFail: false,
    },
  });
}

const retentionSeconds = (config: Config) => Math.max(1, config.events.retentionHours) * 3600;

// Which events were handed to the queue, as members of one set per 10,000 ids, kept as long as
// the outbox keeps its rows. In the queue's hash slot, so one pipeline reaches them on a
// cluster too.
const markerBucket = 10_000;
const rowIdOf = (event: OrderEvent) => Number(event.id.slice(4));

// Hands a relay batch to the queue, leaving out the events an earlier pass already handed (a
// relay that died or failed between this step and its marks sends them again): one job per
// `perJob` events, then the marks. A crash between the jobs and the marks lets the next pass
// queue those events again, so their receiver may get them twice, with the same id.
export async function enqueueWebhooks(
  queue: WebhookQueue,
  redis: RedisClient,
  events: readonly OrderEvent[],
  options: { perJob: number; retentionSeconds: number },
): Promise<void> {
  if (events.length === 0) return;
  const keyOf = (rowId: number) =>
    `${queue.opts.prefix}:${webhookQueueName}:handed:${Math.floor(rowId / markerBucket)}`;
  // One SMISMEMBER and one SADD per set (a batch spans one or two), not a command per event.
  const buckets = new Map<string, string[]>();
  for (const event of events) {
    const rowId = rowIdOf(event);
    const key = keyOf(rowId);
    const ids = buckets.get(key);
    if (ids) ids.push(String(rowId));
    else buckets.set(key, [String(rowId)]);
  }
  const lookup = redis.pipeline();
  for (const [key, ids] of buckets) lookup.smismember(key, ...ids);
  const seen = new Set<string>();
  const answers = (await lookup.exec()) ?? [];
  // A set that could not be read counts as empty: its events are queued (again, maybe).
  [...buckets.values()].forEach((ids, b) => {
    const flags = answers[b]?.[1];
    if (Array.isArray(flags)) flags.forEach((flag, i) => flag === 1 && seen.add(ids[i]!));
  });
  const fresh = events.filter((event) => !seen.has(String(rowIdOf(event))));
  if (fresh.length === 0) return;
  const jobs = [];
  for (let i = 0; i < fresh.length; i += options.perJob) {
    const chunk = fresh.slice(i, i + options.perJob);
    const jobId = `${chunk[0]!.id}-${rowIdOf(chunk.at(-1)!)}`;
    jobs.push({ name: 'order-events', data: { events: chunk }, opts: { jobId } });
  }
  await queue.addBulk(jobs);
  const mark = redis.pipeline();
  for (const [key, ids] of buckets) {
    const handed = ids.filter((id) => !seen.has(id));
    if (handed.length > 0) mark.sadd(key, ...handed).expire(key, options.retentionSeconds);
  }
  await mark.exec();
}

export type DispatcherDeps = {
  url: string;
  secret: string;
  timeoutMs: number;
  // Deliveries in flight at once in this process, over all its jobs.
  concurrency: number;
  logger: Logger;
  metrics?: EventsMetrics | undefined;
  // Holds a job while the drain is behind (drain-watch.ts); absent, jobs go at once.
  drain?: DrainWatch | null | undefined;
};

// One job: its events signed per the Standard Webhooks specification (webhook-id is the event's
// id, so a receiver drops a repeat; the timestamp and signature are this attempt's), several at
// once, an order's in order. Anything but a 2xx fails the job after the deliveries in flight;
// the job keeps only what was not delivered, so its retry sends those and no other.
export function createWebhookDelivery(deps: DispatcherDeps) {
  const poster = webhookPoster({ ...deps, sockets: deps.concurrency });
  const slots = new Slots(deps.concurrency);
  const post = async (event: OrderEvent) => {
    await poster.post(event.id, JSON.stringify(event));
    deps.metrics?.deliveries.inc({ result: 'delivered' });
    deps.metrics?.deliveryLag.observe((Date.now() - Date.parse(event.occurredAt)) / 1000);
  };
  const deliver = async (job: Job<WebhookJobData>): Promise<void> => {
    const events = eventsOf(job.data);
    // Events are in id order: the first is the oldest, and its lag bounds the wait.
    if (deps.drain && events[0]) await deps.drain.yieldFor(Date.parse(events[0].occurredAt));
    const outcome = await deliverBatch(events, post, slots);
    if (outcome.undelivered.length === 0) return;
    await job.updateData({ events: outcome.undelivered });
    const reason =
      outcome.failure instanceof Error ? outcome.failure.message : String(outcome.failure);
    throw new WebhookRefusedError(`${outcome.undelivered.length} not delivered: ${reason}`);
  };
  return { deliver, close: poster.close };
}

export function startWebhookDispatcher(
  config: Config,
  connection: ConnectionOptions,
  deps: DispatcherDeps,
) {
  const maxDelayMs = config.events.webhookMaxDelaySeconds * 1000;
  const delivery = createWebhookDelivery(deps);
  const worker = new Worker<WebhookJobData>(webhookQueueName, delivery.deliver, {
    connection,
    prefix: bullPrefix(config),
    // Jobs at once; their deliveries share the `concurrency` slots.
    concurrency: deps.concurrency,
    lockDuration: Math.max(config.worker.lockDurationMs, config.events.webhookTimeoutMs * 2),
    stalledInterval: config.worker.stalledIntervalMs,
    settings: { backoffStrategy: (attemptsMade) => webhookDelayMs(attemptsMade, maxDelayMs) },
  });
  worker.on('error', (error) => deps.logger.error({ err: error }, 'webhook dispatcher error'));
  worker.on('failed', (job, error) => {
    if (!job) return;
    const count = eventsOf(job.data).length;
    if (job.attemptsMade < (job.opts.attempts ?? 1)) {
      deps.metrics?.deliveries.inc({ result: 'refused' }, count);
      return;
    }
    deps.metrics?.deliveries.inc({ result: 'dead' }, count);
    deps.logger.error(
      { err: error, eventIds: eventsOf(job.data).map((e) => e.id), attempts: job.attemptsMade },
      'order event webhooks dead-lettered',
    );
  });
  return {
    worker,
    close: async () => {
      // close() lets the deliveries in flight finish.
      await worker.close();
      delivery.close();
    },
  };
}
