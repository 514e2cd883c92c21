import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { Config } from '../config.js';
import { FollowingSentinelConnector } from './sentinel-connector.js';

export type RedisTopology = {
  redis: Pick<Config['redis'], 'url' | 'sentinels' | 'sentinelName' | 'clusterNodes'>;
};

// A connection to whichever topology the config names: a server, a Sentinel-followed primary,
// or a Redis Cluster. Both speak the same commands; what differs (scan, ping, the masters) is
// asked through the helpers below.
export type RedisClient = Redis | Cluster;

// REDIS_URL still gives the credentials (and, outside a cluster, the database index).
function credentials(redisUrl: string): Pick<RedisOptions, 'username' | 'password'> {
  const url = new URL(redisUrl);
  return {
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
  };
}

// The one place that chooses the Redis topology: the server of REDIS_URL, the primary that
// Sentinel names, followed across failovers, or a Redis Cluster. Nothing else names a host.
function topologyOptions(topology: RedisTopology): { url?: string; options: RedisOptions } {
  if (!topology.redis.sentinels) return { url: topology.redis.url, options: {} };
  const url = new URL(topology.redis.url);
  const db = Number(url.pathname.slice(1) || 0);
  return {
    options: {
      sentinels: topology.redis.sentinels,
      name: topology.redis.sentinelName,
      db: Number.isInteger(db) ? db : 0,
      ...credentials(topology.redis.url),
      // Subscribes to the sentinels' +switch-master, so a failover moves the connection at
      // once instead of when the old primary's socket finally errors. ioredis's own
      // `failoverDetector` can end the client for good when that message comes during a
      // reconnect (see sentinel-connector.ts); this connector follows it without ending.
      failoverDetector: false,
      Connector: FollowingSentinelConnector,
      // A sentinel that accepts but does not answer is skipped after this, not waited on
      // forever (ioredis sets no timeout on the sentinels' commands by default).
      sentinelCommandTimeout: 2_000,
      // Asked again, from the first sentinel, for as long as it takes: a strategy that
      // returned anything but a number would end the client.
      sentinelRetryStrategy: (times: number) => Math.min(times * 50, 1_000),
    },
  };
}

// The queueing and pipelining options belong to the cluster, the rest to each node's connection.
function connectCluster(topology: RedisTopology, options: RedisOptions): Cluster {
  const { enableOfflineQueue, enableAutoPipelining, lazyConnect, ...perNode } = options;
  const clusterOptions: ClusterOptions = {
    redisOptions: { ...credentials(topology.redis.url), ...perNode },
    ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
    ...(lazyConnect === undefined ? {} : { lazyConnect }),
    // Autopipelining routes a custom command by its first argument: every script in lua/
    // has a fixed key count, so that is its first key (ioredis issue 2109 is what a script
    // passed its key count as first argument met).
    ...(enableAutoPipelining ? { enableAutoPipelining: true } : {}),
    // A master that went away is asked again about its slots this often, so its slots come
    // back soon after it does.
    slotsRefreshInterval: 2_000,
  };
  return new Cluster(topology.redis.clusterNodes ?? [], clusterOptions);
}

function connect(topology: RedisTopology, options: RedisOptions): RedisClient {
  if (topology.redis.clusterNodes) return connectCluster(topology, options);
  const { url, options: base } = topologyOptions(topology);
  return url ? new Redis(url, { ...base, ...options }) : new Redis({ ...base, ...options });
}

// Commands issued while Redis is away fail fast instead of queueing behind the reconnect,
// so the API can answer 503 at once. BullMQ's blocking connections need the opposite.
export function createRedis(topology: RedisTopology, options: RedisOptions = {}): RedisClient {
  return connect(topology, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: true,
    connectTimeout: 5_000,
    ...options,
  });
}

export function createBullRedis(topology: RedisTopology): RedisClient {
  return connect(topology, { maxRetriesPerRequest: null, enableReadyCheck: false });
}

export function isCluster(redis: RedisClient): redis is Cluster {
  return redis instanceof Cluster;
}

// The servers holding data: every master of a cluster, or the one server.
export function dataNodes(redis: RedisClient): Redis[] {
  return isCluster(redis) ? redis.nodes('master') : [redis];
}

// SCAN sees one server's keys: on a cluster each master is scanned in turn.
export async function* scanKeys(
  redis: RedisClient,
  pattern: string,
  count = 1000,
): AsyncGenerator<string[]> {
  for (const node of dataNodes(redis)) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', count);
      cursor = next;
      if (keys.length > 0) yield keys;
    } while (cursor !== '0');
  }
}

// Readiness: a cluster with one master down still serves the others' slots, so it is ready
// while any master answers; a lone server must answer itself.
export async function pingRedis(redis: RedisClient): Promise<void> {
  if (!isCluster(redis)) {
    await redis.ping();
    return;
  }
  const masters = redis.nodes('master');
  if (masters.length === 0) throw new Error('no redis cluster master known');
  await Promise.any(masters.map((node) => node.ping()));
}
