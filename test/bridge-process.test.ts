import { describe, expect, it } from 'vitest';
import { Worker } from 'bullmq';
import { createTestEnv, rabbitmqctl, waitFor, type TestEnv } from './support/env.js';
import { brokerClient } from './support/failures.js';
import { orderMessage } from './support/messages.js';
import { topology } from '../src/broker/topology.js';
import { bullPrefix, orderQueueNames } from '../src/queues/names.js';
import { startBridge } from '../src/cmd/wiring/bridge.js';
import { createBullRedis } from '../src/redis/connection.js';

// The bridge process as it is started: a job's completion, heard from BullMQ's events, settles
// its order without a row being asked of PostgreSQL.
describe('the bridge process', () => {
  it('acks a message once BullMQ reports its jobs completed', async () => {
    const env = await createTestEnv('bridge-events', { BRIDGE_SETTLE_INTERVAL_MS: '600000' });
    const bridge = await startBridge(env.config, env.logger);
    const publisher = await brokerClient(env);
    const connection = createBullRedis(env.config);
    // Completes every job without writing anything: only the completion event can settle it.
    const workers = orderQueueNames(env.config).map(
      (name) =>
        new Worker(name, async () => 'done', { connection, prefix: bullPrefix(env.config) }),
    );
    try {
      const orders = Array.from({ length: 8 }, orderMessage);
      for (const order of orders) {
        await publisher.publish(topology.ordersExchange, topology.ordersRoutingKey, order);
      }
      await waitFor(async () => (await unacked(env)) === 0 && (await ready(publisher)) === 0, {
        what: 'every message acked after its job completed',
      });
      await bridge.stop();
      // Nothing held came back to the queue.
      expect(await publisher.messageCount(topology.ordersQueue)).toBe(0);
    } finally {
      await Promise.all(workers.map((worker) => worker.close()));
      connection.disconnect();
      await publisher.close();
      await bridge.stop().catch(() => undefined);
      await env.cleanup();
    }
  });
});

const ready = (publisher: Awaited<ReturnType<typeof brokerClient>>) =>
  publisher.messageCount(topology.ordersQueue);

async function unacked(env: TestEnv): Promise<number> {
  const vhost = decodeURIComponent(new URL(env.config.amqp.url).pathname.slice(1));
  const out = await rabbitmqctl('list_queues', '-p', vhost, 'name', 'messages_unacknowledged');
  const line = out.split('\n').find((l) => l.split(/\s+/)[0] === topology.ordersQueue);
  return line ? Number(line.split(/\s+/)[1]) : -1;
}
