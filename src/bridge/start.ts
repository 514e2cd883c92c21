import type { Config } from '../config.js';
import type { Logger } from '../observability/logger.js';
import { BrokerConnection } from '../broker/connection.js';
import { topology } from '../broker/topology.js';
import { createBullRedis } from '../redis/connection.js';
import { QueueEvents } from 'bullmq';
import { createOrderQueues } from '../orders/queue.js';
import { bullPrefix, orderQueueNames } from '../queues/names.js';
import { createRegistry } from '../observability/metrics.js';
import { metricsPortChoice, serveMetrics } from '../observability/metrics-server.js';
import { bridgeMetrics } from '../observability/bridge-metrics.js';
import { Bridge } from './bridge.js';
import { createDatabase } from '../db/client.js';
import { ordersWithRows } from '../db/orders-repository.js';
import { watchRedisIdentity } from '../recovery/redis-identity.js';

export async function startBridge(config: Config, logger: Logger) {
  const registry = createRegistry('bridge');
  const broker = new BrokerConnection(config.amqpUrl, logger, 'flashline-bridge', config);
  const counters = bridgeMetrics(registry, async () => {
    const depths = new Map<string, number>();
    const channel = broker.channel;
    if (!channel) return depths;
    for (const queue of [topology.ordersQueue, topology.deadLetterQueue]) {
      const info = await channel.checkQueue(queue).catch(() => null);
      if (info) depths.set(queue, info.messageCount);
    }
    return depths;
  });

  const redis = createBullRedis(config);
  const queue = createOrderQueues(config, redis);
  const db = createDatabase(config.databaseUrl, 2);
  const bridge = new Bridge({
    broker,
    queue,
    logger,
    counters,
    settledOrders: (ids) => ordersWithRows(db, ids),
    prefetch: config.bridgePrefetch,
    maxBulk: config.bridgeBulkMax,
    retryDelayMs: config.bridgeRetryDelayMs,
    settleIntervalMs: config.bridgeSettleIntervalMs,
    readdAfterMs: config.bridgeReaddAfterMs,
  });
  // A completed job's order has its row: hearing of it settles the order without asking
  // PostgreSQL (which the bridge then asks only about orders it heard nothing of).
  // Each QueueEvents blocks on its own connection, one per order queue.
  const listeners = orderQueueNames(config).map((name) => {
    const connection = createBullRedis(config);
    const events = new QueueEvents(name, { connection, prefix: bullPrefix(config) });
    events.on('completed', ({ jobId }) => bridge.markSettled([jobId]));
    events.on('error', (error) => logger.warn({ err: error, queue: name }, 'queue events failed'));
    return { events, connection };
  });
  bridge.start();
  watchRedisIdentity(redis, logger, () => {
    bridge
      .readdHeld('redis lost state')
      .catch((error: unknown) => logger.warn({ err: error }, 'adding held jobs again failed'));
  });
  await broker.start();
  const metrics = await serveMetrics(registry, config.host, metricsPortChoice(config, 'bridge'));
  logger.info({ metricsPort: metrics.port }, 'bridge metrics listening');

  return {
    metricsPort: metrics.port,
    stop: async () => {
      await bridge.stop();
      metrics.server.close();
      await broker.close();
      await queue.close();
      await redis.quit().catch(() => undefined);
      for (const { events, connection } of listeners) {
        await events.close();
        await connection.quit().catch(() => undefined);
      }
      await db.$client.end();
    },
  };
}
