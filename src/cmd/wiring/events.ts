import type { Config } from '../../config.js';
import type { Logger } from '../../observability/logger.js';
import { createBullRedis, type RedisClient } from '../../redis/connection.js';
import { createDatabase } from '../../db/client.js';
import { outboxBacklog } from '../../db/order-events-repository.js';
import { BrokerConnection } from '../../broker/connection.js';
import { ConfirmedPublisher } from '../../broker/publisher.js';
import { topology } from '../../broker/topology.js';
import { createRegistry } from '../../observability/metrics.js';
import { eventsMetrics } from '../../observability/events-metrics.js';
import { OutboxRelay } from '../../events/relay.js';
import type { OrderEvent } from '../../events/event.js';
import {
  createWebhookQueue,
  enqueueWebhooks,
  startWebhookDispatcher,
} from '../../events/webhooks.js';
import { drainWatch, type DrainWatch } from '../../events/drain-watch.js';
import { quit, serveProcessMetrics } from './shared.js';

// The events process (docs/order-events.md): the outbox relay, and the webhook dispatcher when
// EVENTS_WEBHOOK_URL is set. Apart from the drain, so that a slow receiver or broker never
// takes the worker's CPU, and any number may run: one relays at a time, all deliver.
export async function startEvents(config: Config, logger: Logger) {
  const registry = createRegistry('events');
  const { events } = config;
  // Every query bounded: a stalled PostgreSQL fails a pass, and the next one tries again.
  const db = createDatabase(config.database.url, 3, { queryTimeoutMs: 10_000 });
  const broker = new BrokerConnection(config.amqp.url, logger, 'flashline-events', config);
  const publisher = new ConfirmedPublisher(broker, config.amqp.publishTimeoutMs);
  // The drain's backlog (drain-watch.ts) is read on the webhooks' Redis connection, the one
  // the process holds anyway with webhooks; without them, on one of its own.
  const redis = events.webhookUrl || events.yieldMaxMs > 0 ? createBullRedis(config) : null;
  const drain = redis ? drainWatch(config, redis) : null;
  const metrics = eventsMetrics(
    registry,
    () => outboxBacklog(db),
    () => drain?.isBehind === true,
  );
  const webhooks =
    redis && events.webhookUrl ? startWebhooks(config, logger, metrics, redis, drain) : null;

  const relay = new OutboxRelay({
    db,
    // One channel, in id order: RabbitMQ keeps a channel's order, so an order's events too.
    publish: (batch: OrderEvent[]) =>
      Promise.all(
        batch.map((event) =>
          publisher.send(topology.eventsExchange, event.type, event, {
            messageId: event.id,
            type: event.type,
          }),
        ),
      ).then(() => undefined),
    enqueue: webhooks
      ? (batch) =>
          enqueueWebhooks(webhooks.queue, webhooks.redis, batch, {
            perJob: events.webhookBatch,
            retentionSeconds: Math.max(1, events.retentionHours) * 3600,
          })
      : undefined,
    logger,
    metrics,
    batch: events.relayBatch,
    idleMs: events.relayIdleMs,
    intervalMs: events.relayIntervalMs,
    transactionIdleMs: config.amqp.publishTimeoutMs + 30_000,
    retentionHours: events.retentionHours,
    drain,
    // The process dies as a crash would, with nothing flushed.
    afterPublish: config.fault.killAfterEventsPublish
      ? () => process.kill(process.pid, 'SIGKILL')
      : undefined,
  });
  await broker.start();
  drain?.start();
  relay.start();
  const served = await serveProcessMetrics(config, logger, registry, 'events');

  return {
    relay,
    metricsPort: served.port,
    stop: async () => {
      // Nothing waits for the drain any more: a relay pass and the jobs held go at once.
      drain?.stop();
      await relay.stop();
      await webhooks?.stop();
      if (redis) await quit(redis);
      served.server.close();
      await broker.close();
      await db.$client.end();
    },
  };
}

function startWebhooks(
  config: Config,
  logger: Logger,
  metrics: ReturnType<typeof eventsMetrics>,
  redis: RedisClient,
  drain: DrainWatch | null,
) {
  const queue = createWebhookQueue(config, redis);
  const dispatcher = startWebhookDispatcher(config, redis, {
    url: config.events.webhookUrl!,
    secret: config.events.webhookSecret,
    timeoutMs: config.events.webhookTimeoutMs,
    concurrency: config.events.webhookConcurrency,
    logger,
    metrics,
    drain,
  });
  return {
    queue,
    redis,
    stop: async () => {
      await dispatcher.close();
      await queue.close();
    },
  };
}
