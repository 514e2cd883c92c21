import { expect, it } from 'vitest';
import { totalmem } from 'node:os';
import { getHeapStatistics } from 'node:v8';
import { ConfigError, loadConfig } from './config.js';
import { maxOrdersPerMessage } from './broker/messages.js';

// loadConfig
it('works with no environment at all, against the local services', () => {
  const config = loadConfig({});
  expect(config.http.port).toBe(3000);
  expect(config.redis.url).toBe('redis://127.0.0.1:6379/0');
  expect(config.database.url).toMatch(/^postgres:\/\//);
});

it('puts each variable in its group, named without the group prefix, in camelCase', () => {
  const sut = loadConfig({
    REDIS_SENTINEL_NAME: 'flash',
    PG_POOL_MAX: '3',
    BRIDGE_RETRY_DELAY_MS: '250',
    ORDER_BATCH_LINGER_MS: '7',
    OTEL_SERVICE_NAME: 'svc',
    FAULT_KILL_AFTER_EXPIRY_COMMIT: '1',
    API_PROCESSES: '0',
  });
  expect(sut.redis.sentinelName).toBe('flash');
  expect(sut.database.pgPoolMax).toBe(3);
  expect(sut.bridge.retryDelayMs).toBe(250);
  expect(sut.worker.orderBatchLingerMs).toBe(7);
  expect(sut.otel.serviceName).toBe('svc');
  expect(sut.fault.killAfterExpiryCommit).toBe(true);
  expect(sut.api.processes).toBeGreaterThanOrEqual(1);
  expect(loadConfig({}).bridge.retryDelayMs).toBe(1_000);
});

it('lists every bad variable at once', () => {
  expect(() => loadConfig({ PORT: 'abc', REDIS_URL: 'nope', FAULT_FAIL_RATE: '2' })).toThrow(
    ConfigError,
  );
  const error = (() => {
    try {
      loadConfig({ PORT: 'abc', REDIS_URL: 'nope' });
    } catch (caught) {
      return caught as Error;
    }
    return null;
  })();
  expect(error?.message).toMatch(/PORT/);
  expect(error?.message).toMatch(/REDIS_URL/);
});

it('chooses the Redis topology: one server, or a primary found through Sentinel', () => {
  expect(loadConfig({}).redis.sentinels).toBeNull();
  const sentinel = loadConfig({
    REDIS_SENTINELS: '10.0.0.1:26379,sentinel-b:26380',
    REDIS_SENTINEL_NAME: 'flash',
  });
  expect(sentinel.redis.sentinels).toEqual([
    { host: '10.0.0.1', port: 26379 },
    { host: 'sentinel-b', port: 26380 },
  ]);
  expect(sentinel.redis.sentinelName).toBe('flash');
  expect(loadConfig({ REDIS_SENTINELS: 'a:1' }).redis.sentinelName).toBe('mymaster');
  expect(() => loadConfig({ REDIS_SENTINELS: 'no-port' })).toThrow(/REDIS_SENTINELS/);
  expect(() => loadConfig({ REDIS_SENTINELS: 'a:26379', REDIS_CLUSTER_NODES: 'b:7000' })).toThrow(
    /not both/,
  );
});

it('takes a Redis Cluster, with its order queues spread, and only database 0', () => {
  const single = loadConfig({});
  expect(single.redis.clusterNodes).toBeNull();
  expect(single.queues.orderQueues).toBe(1);
  const sut = loadConfig({ REDIS_CLUSTER_NODES: 'n1:7000,10.0.0.2:7001' });
  expect(sut.redis.clusterNodes).toEqual([
    { host: 'n1', port: 7000 },
    { host: '10.0.0.2', port: 7001 },
  ]);
  expect(sut.queues.orderQueues).toBe(12);
  expect(loadConfig({ REDIS_CLUSTER_NODES: 'n1:7000', ORDER_QUEUES: '4' }).queues.orderQueues).toBe(
    4,
  );
  expect(() =>
    loadConfig({ REDIS_CLUSTER_NODES: 'n1:7000', REDIS_URL: 'redis://x:6379/2' }),
  ).toThrow(/database 0/);
  expect(() => loadConfig({ ORDER_QUEUES: '0' })).toThrow(/ORDER_QUEUES/);
});

it('declares quorum queues unless told classic', () => {
  expect(loadConfig({}).amqp.queueType).toBe('quorum');
  expect(loadConfig({ AMQP_QUEUE_TYPE: 'classic' }).amqp.queueType).toBe('classic');
  expect(() => loadConfig({ AMQP_QUEUE_TYPE: 'stream' })).toThrow(/AMQP_QUEUE_TYPE/);
  expect(loadConfig({}).amqp.deliveryLimit).toBe(50);
});

it('replicates quorum queues three times, and takes the nodes of a RabbitMQ cluster', () => {
  expect(loadConfig({}).amqp.quorumSize).toBe(3);
  expect(loadConfig({ AMQP_QUORUM_SIZE: '0' }).amqp.quorumSize).toBe(0);
  expect(() => loadConfig({ AMQP_QUORUM_SIZE: '9' })).toThrow(/AMQP_QUORUM_SIZE/);
  const nodes = 'amqp://u:p@rabbit-1:5672/shop,amqp://u:p@rabbit-2:5672/shop';
  expect(loadConfig({ AMQP_URL: nodes }).amqp.url).toBe(nodes);
  expect(() =>
    loadConfig({ AMQP_URL: 'amqp://rabbit-1:5672/shop,amqp://rabbit-2:5672/other' }),
  ).toThrow(/AMQP_URL.*different vhosts/);
});

it('keeps a message of orders within what the bridge accepts', () => {
  expect(loadConfig({}).amqp.publishBatchMax).toBe(128);
  expect(loadConfig({ PUBLISH_BATCH_MAX: String(maxOrdersPerMessage) }).amqp.publishBatchMax).toBe(
    maxOrdersPerMessage,
  );
  expect(() => loadConfig({ PUBLISH_BATCH_MAX: String(maxOrdersPerMessage + 1) })).toThrow(
    /PUBLISH_BATCH_MAX/,
  );
  expect(() => loadConfig({ PUBLISH_BATCH_MAX: '0' })).toThrow(/PUBLISH_BATCH_MAX/);
});

it('runs the drain processes at a lower CPU priority unless told otherwise', () => {
  expect(loadConfig({}).process.drainNice).toBe(10);
  expect(loadConfig({ DRAIN_NICE: '0' }).process.drainNice).toBe(0);
  expect(loadConfig({ DRAIN_NICE: '19' }).process.drainNice).toBe(19);
  expect(() => loadConfig({ DRAIN_NICE: '20' })).toThrow(/DRAIN_NICE/);
  expect(() => loadConfig({ DRAIN_NICE: '-5' })).toThrow(/DRAIN_NICE/);
});

it('admits adaptively by default, within a floor and a ceiling that must hold the start', () => {
  const admission = loadConfig({}).admission;
  expect(admission.enabled).toBe(true);
  expect(admission.minLimit).toBeLessThanOrEqual(admission.initialLimit);
  expect(admission.initialLimit).toBeLessThanOrEqual(admission.maxLimit);
  expect(admission.rssLimitBytes).toBeGreaterThan(0);
  expect(loadConfig({ ADMISSION: 'off' }).admission.enabled).toBe(false);
  expect(loadConfig({ ADMISSION_RSS_MAX_MB: '512' }).admission.rssLimitBytes).toBe(512 * 2 ** 20);
  expect(admission.floorMemoryMs).toBe(5_000);
  expect(loadConfig({}).api.listenBacklog).toBe(4096);
  expect(loadConfig({ API_LISTEN_BACKLOG: '1024' }).api.listenBacklog).toBe(1024);
  expect(loadConfig({ ADMISSION_FLOOR_MEMORY_MS: '0' }).admission.floorMemoryMs).toBe(0);
  expect(() => loadConfig({ ADMISSION_FLOOR_MEMORY_MS: '-1' })).toThrow(/ADMISSION_FLOOR/);
  expect(() => loadConfig({ ADMISSION_MIN_LIMIT: '50', ADMISSION_INITIAL_LIMIT: '10' })).toThrow(
    /ADMISSION_INITIAL_LIMIT/,
  );
  expect(() => loadConfig({ ADMISSION: 'threshold' })).toThrow(/ADMISSION/);
});

// A waiting room's crowd of a million is remembered verified by default: about 800 bytes a
// buyer (bench/verified-cache.ts) in a quarter of the heap limit, below ADMISSION_HEAP_MAX.
it('sizes the verified-token caches from the heap limit unless told', () => {
  const heapLimit = getHeapStatistics().heap_size_limit;
  expect(loadConfig({}).api.verifiedCacheBytes).toBe(heapLimit / 4);
  const { jwtCacheBytes, ticketCacheBytes } = loadConfig({ API_VERIFIED_CACHE_MB: '64' }).api;
  expect([jwtCacheBytes, ticketCacheBytes]).toEqual([32 * 2 ** 20, 32 * 2 ** 20]);
  // Many processes on one host share its memory: together no more than a quarter of it.
  const many = loadConfig({ API_PROCESSES: '64' }).api.verifiedCacheBytes;
  expect(many).toBeLessThanOrEqual(totalmem() / 64 / 4);
  expect(loadConfig({}).api.verifiedCacheBytes).toBeLessThan(
    loadConfig({}).admission.heapMax * heapLimit,
  );
  expect(loadConfig({ API_VERIFIED_CACHE_MB: '64' }).api.verifiedCacheBytes).toBe(64 * 2 ** 20);
  expect(() => loadConfig({ API_VERIFIED_CACHE_MB: '-1' })).toThrow(/API_VERIFIED_CACHE_MB/);
});
