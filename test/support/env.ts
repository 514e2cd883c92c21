import { setTimeout as sleep } from 'node:timers/promises';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import pg from 'pg';
import { Cluster, Redis } from 'ioredis';
import { loadConfig, type Config } from '../../src/config.js';
import { migrateDatabase } from '../../src/db/migrate.js';
import { createRedis, dataNodes, scanKeys, type RedisClient } from '../../src/redis/connection.js';
import { topology } from '../../src/broker/topology.js';
import { createLogger, type Logger } from '../../src/observability/logger.js';

const run = promisify(execFile);

export const services = {
  postgres: process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432',
  redis: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0',
  amqpHost: process.env.TEST_AMQP_HOST ?? 'guest:guest@127.0.0.1:5672',
  redisCluster: process.env.TEST_REDIS_CLUSTER_NODES,
};

const ownsRedis = (overrides: Record<string, string>) =>
  ['REDIS_URL', 'REDIS_SENTINELS', 'REDIS_CLUSTER_NODES'].some((name) => name in overrides);
// A test that brings a RabbitMQ of its own (a cluster) needs no vhost on the shared broker.
const ownsBroker = (overrides: Record<string, string>) => 'AMQP_URL' in overrides;

export type TestEnv = {
  id: string;
  config: Config;
  env: Record<string, string>;
  logger: Logger;
  cleanup: () => Promise<void>;
};

export async function rabbitmqctl(...args: string[]): Promise<string> {
  const { stdout } = await run('rabbitmqctl', ['-q', ...args], { timeout: 30_000 });
  return stdout;
}

// One run of one test file: its own database, Redis key prefix and RabbitMQ vhost, so runs
// can overlap on one machine. `cleanup` removes all three.
export async function createTestEnv(
  name: string,
  overrides: Record<string, string> = {},
): Promise<TestEnv> {
  const id =
    `${name.replace(/[^a-z0-9]/gi, '').slice(0, 20)}_${randomBytes(4).toString('hex')}`.toLowerCase();
  const database = `fl_t_${id}`;
  const vhost = `fl_t_${id}`;
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    HOST: '127.0.0.1',
    PORT: '0',
    BRIDGE_PORT: '0',
    WORKER_PORT: '0',
    COMPENSATOR_PORT: '0',
    EVENTS_PORT: '0',
    DATABASE_URL: `${services.postgres}/${database}`,
    REDIS_URL: services.redis,
    REDIS_PREFIX: `t_${id}`,
    AMQP_URL: `amqp://${services.amqpHost}/${vhost}`,
    JWT_SECRET: 'test-secret-0123456789',
    ADMIN_TOKEN: 'test-admin-token',
    JOB_BACKOFF_MS: '50',
    // Adaptive admission would answer 503 whenever this busy, shared test machine stalls;
    // the admission tests turn it on themselves.
    ADMISSION: 'off',
    // A niced worker on a shared machine waits behind every other tenant's CPU: the tests'
    // timeouts would measure the neighbours. test/process-priority.test.ts covers the niceness.
    DRAIN_NICE: '0',
    EVENTS_NICE: '0',
    // The queue type is the run's choice (.ci/run runs one leg on each); quorum, the default,
    // when unset.
    ...(process.env.TEST_AMQP_QUEUE_TYPE
      ? { AMQP_QUEUE_TYPE: process.env.TEST_AMQP_QUEUE_TYPE }
      : {}),
    // A run on a Redis Cluster (.ci/run starts one): every test that does not bring a Redis
    // of its own (REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES) runs on it.
    ...(services.redisCluster && !ownsRedis(overrides)
      ? { REDIS_CLUSTER_NODES: services.redisCluster }
      : {}),
    ...overrides,
  };
  if (!ownsBroker(overrides)) {
    await rabbitmqctl('add_vhost', vhost);
    await rabbitmqctl('set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*');
  }
  await migrateDatabase(env.DATABASE_URL!);
  const config = loadConfig(env);
  const logger = createLogger(config.process.logLevel, `test-${name}`);

  return {
    id,
    config,
    env,
    logger,
    cleanup: async () => {
      if (!ownsBroker(overrides)) await rabbitmqctl('delete_vhost', vhost).catch(() => undefined);
      const admin = new pg.Client({ connectionString: `${services.postgres}/postgres` });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      await admin.end();
      if (services.redisCluster && env.REDIS_CLUSTER_NODES === services.redisCluster) {
        await deleteClusterKeys(config, `${config.redis.prefix}:*`);
      } else {
        await deleteKeys(services.redis, `${config.redis.prefix}:*`);
      }
    },
  };
}

export async function deleteKeys(url: string, pattern: string): Promise<void> {
  const redis = new Redis(url);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

// The run's Redis, for a test that needs no database or vhost of its own: the cluster of a
// cluster run (.ci/run starts one), else the one server.
export function runRedis(): RedisClient {
  if (!services.redisCluster) return new Redis(services.redis);
  const nodes = services.redisCluster.split(',').map((node) => {
    const [host, port] = node.split(':');
    return { host: host ?? '127.0.0.1', port: Number(port) };
  });
  return new Cluster(nodes);
}

// Removes a pattern's keys from the run's Redis (every master of a cluster).
export async function deleteRunKeys(pattern: string): Promise<void> {
  if (!services.redisCluster) return deleteKeys(services.redis, pattern);
  const redis = await mastersKnown(runRedis());
  try {
    for await (const keys of scanKeys(redis, pattern)) {
      for (const key of keys) await redis.unlink(key);
    }
  } finally {
    redis.disconnect();
  }
}

// `redis` once it knows its masters: a new cluster client lists none until it has read the
// slots, and a SCAN over its masters (scanKeys) would see no key at all.
export async function mastersKnown(redis: RedisClient): Promise<RedisClient> {
  await redis.ping();
  await waitFor(async () => dataNodes(redis).length > 0, { what: "the cluster's masters" });
  return redis;
}

// On a cluster SCAN sees one master's keys: each master is scanned and its keys unlinked.
async function deleteClusterKeys(config: Config, pattern: string): Promise<void> {
  const redis = await mastersKnown(createRedis(config));
  try {
    for await (const keys of scanKeys(redis, pattern)) {
      for (const key of keys) await redis.unlink(key);
    }
  } finally {
    redis.disconnect();
  }
}

export async function waitFor<T>(
  probe: () => Promise<T | undefined | null | false>,
  {
    timeoutMs = 30_000,
    intervalMs = 50,
    what = 'condition',
  }: { timeoutMs?: number; intervalMs?: number; what?: string | (() => string) } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline)
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${typeof what === 'function' ? what() : what}`,
      );
    await sleep(intervalMs);
  }
}

// Applies a RabbitMQ policy to this environment's order queue, and waits until the queue
// carries it (a policy reaches its queues a moment after rabbitmqctl returns). Returns the undo.
export async function orderQueuePolicy(
  env: TestEnv,
  name: string,
  definition: object,
): Promise<() => Promise<void>> {
  const vhost = decodeURIComponent(new URL(env.config.amqp.url).pathname.slice(1));
  const queue = `^${topology.ordersQueue.replaceAll('.', '\\.')}$`;
  await rabbitmqctl(
    'set_policy',
    '-p',
    vhost,
    '--apply-to',
    'queues',
    name,
    queue,
    JSON.stringify(definition),
  );
  await waitFor(
    async () =>
      (await rabbitmqctl('list_queues', '-p', vhost, 'name', 'policy'))
        .split('\n')
        .some((line) => line.split(/\s+/)[0] === topology.ordersQueue && line.includes(name)),
    { what: `the ${name} policy on the order queue` },
  );
  return async () => {
    await rabbitmqctl('clear_policy', '-p', vhost, name);
  };
}

// Makes the broker refuse (basic.nack) every publish to the order queue of this environment,
// the real way a publish fails while the connection stays up. Returns the undo. The order
// exchange routes to a classic queue that holds nothing and rejects publishes, in place of the
// order queue: a quorum queue of max-length 0 would accept one message before it rejects (its
// limit is checked after the enqueue), and a message also routed to a queue that takes it is
// nacked yet kept there. The refusing queue is bound first and unbound last, so no publish
// meanwhile is unroutable (confirmed and dropped).
export async function rejectOrderPublishes(env: TestEnv): Promise<() => Promise<void>> {
  const refusing = 'flashline.test.refuse-orders';
  const { ordersExchange, ordersQueue, ordersRoutingKey } = topology;
  const withChannel = async (work: (channel: amqp.Channel) => Promise<void>) => {
    const connection = await amqp.connect(env.config.amqp.url);
    try {
      await work(await connection.createChannel());
    } finally {
      await connection.close();
    }
  };
  await withChannel(async (channel) => {
    await channel.assertQueue(refusing, {
      durable: true,
      arguments: { 'x-queue-type': 'classic', 'x-max-length': 0, 'x-overflow': 'reject-publish' },
    });
    await channel.bindQueue(refusing, ordersExchange, ordersRoutingKey);
    await channel.unbindQueue(ordersQueue, ordersExchange, ordersRoutingKey);
  });
  return () =>
    withChannel(async (channel) => {
      await channel.bindQueue(ordersQueue, ordersExchange, ordersRoutingKey);
      await channel.deleteQueue(refusing);
    });
}
