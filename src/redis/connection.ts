import { Redis, type RedisOptions } from 'ioredis';
import type { Config } from '../config.js';

export type RedisTopology = Pick<Config, 'redisUrl' | 'redisSentinels' | 'redisSentinelName'>;

// The one place that chooses the Redis topology: the server of REDIS_URL, or the primary
// that Sentinel names, followed across failovers. REDIS_URL still gives the database index and
// the credentials under Sentinel. Nothing else names a host.
function topologyOptions(topology: RedisTopology): { url?: string; options: RedisOptions } {
  if (!topology.redisSentinels) return { url: topology.redisUrl, options: {} };
  const url = new URL(topology.redisUrl);
  const db = Number(url.pathname.slice(1) || 0);
  return {
    options: {
      sentinels: topology.redisSentinels,
      name: topology.redisSentinelName,
      db: Number.isInteger(db) ? db : 0,
      ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
      ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
      // Subscribes to the sentinels' +switch-master, so a failover moves the connection at
      // once instead of when the old primary's socket finally errors.
      failoverDetector: true,
    },
  };
}

function connect(topology: RedisTopology, options: RedisOptions): Redis {
  const { url, options: base } = topologyOptions(topology);
  return url ? new Redis(url, { ...base, ...options }) : new Redis({ ...base, ...options });
}

// Commands issued while Redis is away fail fast instead of queueing behind the reconnect,
// so the API can answer 503 at once. BullMQ's blocking connections need the opposite.
export function createRedis(topology: RedisTopology, options: RedisOptions = {}): Redis {
  return connect(topology, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: true,
    connectTimeout: 5_000,
    ...options,
  });
}

export function createBullRedis(topology: RedisTopology): Redis {
  return connect(topology, { maxRetriesPerRequest: null, enableReadyCheck: false });
}
