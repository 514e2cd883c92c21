import type { Config } from '../../config.js';
import type { Logger } from '../../observability/logger.js';
import { createBullRedis } from '../../redis/connection.js';
import { createDatabase } from '../../db/client.js';
import { ordersWithRows } from '../../db/orders-repository.js';
import { BrokerConnection } from '../../broker/connection.js';
import { topology } from '../../broker/topology.js';
import { createRegistry } from '../../observability/metrics.js';
import { bridgeMetrics } from '../../observability/bridge-metrics.js';
import { createOrderQueues } from '../../orders/queue.js';
import { watchRedisIdentity } from '../../recovery/redis-identity.js';
import { Bridge } from '../../bridge/bridge.js';
import { listenForCompletions } from '../../bridge/completions.js';
import { quit, serveProcessMetrics } from './shared.js';

// The bridge process: moves the orders from RabbitMQ into BullMQ, holding each message until
// its orders have their rows.
export async function startBridge(config: Config, logger: Logger) {
  const registry = createRegistry('bridge');
  const broker = new BrokerConnection(config.amqp.url, logger, 'flashline-bridge', config);
  const redis = createBullRedis(config);
  const db = createDatabase(config.database.url, 2);

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
  const queue = createOrderQueues(config, redis);
  const bridge = new Bridge({
    broker,
    queue,
    logger,
    counters,
    settledOrders: (ids) => ordersWithRows(db, ids),
    prefetch: config.bridge.prefetch,
    maxBulk: config.bridge.bulkMax,
    retryDelayMs: config.bridge.retryDelayMs,
    settleIntervalMs: config.bridge.settleIntervalMs,
    readdAfterMs: config.bridge.readdAfterMs,
  });
  const completions = listenForCompletions(config, bridge, logger);
  bridge.start();
  watchRedisIdentity(redis, logger, () => {
    bridge
      .readdHeld('redis lost state')
      .catch((error: unknown) => logger.warn({ err: error }, 'adding held jobs again failed'));
  });
  await broker.start();
  const metrics = await serveProcessMetrics(config, logger, registry, 'bridge');

  return {
    metricsPort: metrics.port,
    stop: async () => {
      await bridge.stop();
      metrics.server.close();
      await broker.close();
      await queue.close();
      await quit(redis);
      await completions.close();
      await db.$client.end();
    },
  };
}
