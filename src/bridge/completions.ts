import { QueueEvents } from 'bullmq';
import type { Config } from '../config.js';
import type { Logger } from '../observability/logger.js';
import { createBullRedis, type RedisClient } from '../redis/connection.js';
import { bullPrefix, orderQueueNames } from '../queues/names.js';
import type { Bridge } from './bridge.js';

// A completed job's order has its row: hearing of it settles the order without asking
// PostgreSQL (which the bridge then asks only about orders it heard nothing of).
// Each QueueEvents blocks on its own connection, one per order queue.
export function listenForCompletions(
  config: Config,
  bridge: Pick<Bridge, 'markSettled'>,
  logger: Logger,
) {
  const listeners: { events: QueueEvents; connection: RedisClient }[] = orderQueueNames(config).map(
    (name) => {
      const connection = createBullRedis(config);
      const events = new QueueEvents(name, { connection, prefix: bullPrefix(config) });
      events.on('completed', ({ jobId }) => bridge.markSettled([jobId]));
      events.on('error', (error) =>
        logger.warn({ err: error, queue: name }, 'queue events failed'),
      );
      return { events, connection };
    },
  );
  return {
    close: async () => {
      for (const { events, connection } of listeners) {
        await events.close();
        await connection.quit().catch(() => undefined);
      }
    },
  };
}
