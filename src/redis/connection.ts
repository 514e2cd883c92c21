import { Redis, type RedisOptions } from 'ioredis';

// Commands issued while Redis is away fail fast instead of queueing behind the reconnect,
// so the API can answer 503 at once. BullMQ's blocking connections need the opposite.
export function createRedis(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: true,
    connectTimeout: 5_000,
    ...options,
  });
}

export function createBullRedis(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: false });
}
