import { availableParallelism, totalmem } from 'node:os';
import { z } from 'zod';
import { maxOrdersPerMessage } from './broker/messages.js';
import { checkTrust, trustFields, trustSettings } from './config-trust.js';

const int = (fallback: number, min = 0) => z.coerce.number().int().min(min).default(fallback);
const ratio = (fallback: number) => z.coerce.number().min(0).max(1).default(fallback);
// Left unset, a metrics port is a default that may move up to the next free port; set, it is
// the operator's choice and must be free.
const metricsPort = z.coerce.number().int().min(0).max(65_535).optional();
// OpenTelemetry treats an empty variable as unset; so does this schema.
const unsetWhenEmpty = <T extends z.ZodType>(inner: T) =>
  z.preprocess((value) => (value === '' ? undefined : value), inner.optional());

const hostPortList = z
  .string()
  .regex(/^[^,:\s]+:\d{1,5}(,[^,:\s]+:\d{1,5})*$/, 'a list host:port,host:port')
  .transform((list) =>
    list.split(',').map((entry) => {
      const colon = entry.lastIndexOf(':');
      return { host: entry.slice(0, colon), port: Number(entry.slice(colon + 1)) };
    }),
  );

const schema = z
  .object({
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
    LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info'),
    HOST: z.string().default('0.0.0.0'),
    PORT: int(3000),
    // Connections the kernel may hold completed for the API before it accepts them (the kernel
    // caps it at net.core.somaxconn). Node's default, 511, is smaller than a crowd that connects
    // at once: past it the kernel drops the buyer's SYN and the browser tries again a whole
    // second later.
    API_LISTEN_BACKLOG: int(4096, 1),
    // API processes sharing PORT (node:cluster); 0 = one per core. A Node process answers on one
    // core, so a host with more cores needs more processes to use them.
    API_PROCESSES: int(1),
    BRIDGE_PORT: metricsPort,
    WORKER_PORT: metricsPort,
    COMPENSATOR_PORT: metricsPort,
    DATABASE_URL: z.string().url().default('postgres://postgres@127.0.0.1:5432/flashline'),
    PG_POOL_MAX: int(10, 1),
    REDIS_URL: z.string().url().default('redis://127.0.0.1:6379/0'),
    // A primary found through Sentinel and followed across failovers (API.md, topologies); the
    // database index, user and password still come from REDIS_URL.
    REDIS_SENTINELS: unsetWhenEmpty(hostPortList),
    REDIS_SENTINEL_NAME: z.string().min(1).default('mymaster'),
    // A Redis Cluster, found from any of these nodes; REDIS_URL then gives only the
    // credentials, and REDIS_PREFIX keeps deployments sharing the cluster apart.
    REDIS_CLUSTER_NODES: unsetWhenEmpty(hostPortList),
    // BullMQ order queues the orders are spread over, each in a hash slot of its own (so, on a
    // cluster, over the masters); an order's queue follows from its id. Unset: 1 on one
    // server, 12 on a cluster (a multiple of 2, 3, 4 and 6 masters: as many on each). Every
    // process of a deployment must use the same number.
    ORDER_QUEUES: unsetWhenEmpty(z.coerce.number().int().min(1).max(256)),
    REDIS_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,32}$/)
      .default('fl'),
    AMQP_URL: z.string().url().default('amqp://guest:guest@127.0.0.1:5672/'),
    // Quorum queues are replicated over the cluster's nodes (Raft); classic ones live on one
    // node. A queue's type cannot change once declared (docs/operations.md, switching).
    AMQP_QUEUE_TYPE: z.enum(['quorum', 'classic']).default('quorum'),
    // Deliveries of one message after which a quorum queue dead-letters it instead of handing
    // it out again (a message that kills its consumer every time). Every bridge restart and
    // every failed store redelivers the messages it held, so well above those.
    AMQP_DELIVERY_LIMIT: int(50, 1),
    // JWT_SECRET and every identity-provider, proof-of-work and client-address setting.
    ...trustFields,
    ADMIN_TOKEN: z.string().min(8).default('flashline-dev-admin'),
    PUBLISH_TIMEOUT_MS: int(3000, 1),
    // Orders an API process accepts in one event-loop turn go to RabbitMQ as one message, up to
    // this many (1 = a message per order). See src/broker/order-publisher.ts.
    PUBLISH_BATCH_MAX: int(128, 1).pipe(z.number().max(maxOrdersPerMessage)),
    // Messages the bridge holds unacked: each stays so until PostgreSQL has a row for every
    // order in it (the durable record while its job lives in a Redis that may forget it), so
    // this bounds the orders between RabbitMQ and the commit.
    BRIDGE_PREFETCH: int(1000, 1),
    // How often the bridge asks PostgreSQL about held orders it heard no completion of.
    BRIDGE_SETTLE_INTERVAL_MS: int(1_000, 5),
    // A held order with no row after this long has its job added again (a no-op if the job
    // still exists); a detected Redis loss re-adds at once.
    BRIDGE_READD_AFTER_MS: int(30_000, 100),
    // Orders the bridge stores in one BullMQ addBulk: one MULTI, during which the shared Redis
    // answers no reserve, so not too many.
    BRIDGE_BULK_MAX: int(256, 1),
    // Jobs in flight per worker: more of them make larger group commits and claim/confirm
    // batches, so less CPU per order (bench/README.md, the drain (e): 64 -> 512 drained ~1.4x).
    WORKER_CONCURRENCY: int(512, 1),
    // CPU niceness of the bridge, the worker and the compensator (0 = the API's). At 2,000
    // orders/s with the drain beside the API on two cores, 10 took the accepted path's p99 from
    // a median of 55 ms to 36 ms (bench/README.md, (d)); on hosts of their own it changes nothing.
    DRAIN_NICE: int(10).pipe(z.number().max(19)),
    JOB_ATTEMPTS: int(8, 1),
    JOB_BACKOFF_MS: int(250, 1),
    // BullMQ's own defaults: a worker that dies holds its jobs until the lock expires and a
    // stalled check of another worker hands them back.
    WORKER_LOCK_DURATION_MS: int(30_000, 100),
    WORKER_STALLED_INTERVAL_MS: int(30_000, 100),
    WORKER_MAX_STALLED_COUNT: int(1, 0),
    COMPENSATOR_PREFETCH: int(32, 1),
    COMPENSATOR_RETRY_DELAY_MS: int(1_000, 1),
    RECONCILE_INTERVAL_MS: int(30_000, 50),
    // A reconciler pass (or a repair after Redis lost state) that takes longer fails, is
    // counted, and the next pass tries again; each Redis call of the recovery has its own bound.
    RECONCILE_PASS_TIMEOUT_MS: int(20_000, 100),
    RECOVERY_COMMAND_TIMEOUT_MS: int(5_000, 50),
    // Well above the publish timeout and a bridge backlog: an order still queued when this
    // passes is failed and its stock returned (its job then finds the reservation released).
    RECONCILE_STALE_AFTER_MS: int(300_000, 100),
    TOMBSTONE_TTL_SECONDS: int(7 * 24 * 3600, 60),
    IDEMPOTENCY_TTL_SECONDS: int(24 * 3600, 1),
    // Token bucket per buyer and sale at the gate; capacity 0 turns it off.
    RATE_LIMIT_CAPACITY: int(20),
    RATE_LIMIT_REFILL_PER_SECOND: z.coerce.number().positive().default(10),
    SHUTDOWN_TIMEOUT_MS: int(10_000, 100),
    FAULT_FAIL_RATE: ratio(0),
    // Tests the payment window's crash window: '1' makes the worker or the compensator kill
    // itself (SIGKILL) right after committing an order's expiry, before its units go back.
    FAULT_KILL_AFTER_EXPIRY_COMMIT: z.enum(['0', '1']).default('0'),
    // The standard OpenTelemetry variables: tracing is off unless an OTLP endpoint is given.
    OTEL_EXPORTER_OTLP_ENDPOINT: unsetWhenEmpty(z.string().url()),
    OTEL_SERVICE_NAME: unsetWhenEmpty(z.string()),
    // Adaptive admission of purchases (src/api/admission/): at most a limit in flight per API
    // process, moved every window by the latency gradient and cut by the system rules; the
    // excess is answered 503 before the JWT and the body are read. `off` admits everything.
    ADMISSION: z.enum(['adaptive', 'off']).default('adaptive'),
    ADMISSION_INITIAL_LIMIT: int(100, 1),
    ADMISSION_MIN_LIMIT: int(8, 1),
    ADMISSION_MAX_LIMIT: int(2000, 1),
    ADMISSION_WINDOW_MS: int(100, 10),
    // Gradient2's rttTolerance: how far the window's latency may rise over the long-term one
    // before the limit falls.
    ADMISSION_RTT_TOLERANCE: z.coerce.number().min(1).default(1.5),
    // How long the goodput floor remembers a window: the concurrency of the best goodput in that
    // time is a floor under the latency gradient and the CPU rule (0 = no floor).
    ADMISSION_FLOOR_MEMORY_MS: int(5000, 0),
    // CPU this process used in a window (cores, at most its event loop's busy share) above
    // which the limit is cut (1 = never).
    ADMISSION_CPU_MAX: ratio(0.95),
    // V8 heap in use against its limit above which the limit is cut.
    ADMISSION_HEAP_MAX: ratio(0.85),
    // RSS above which the limit is cut; 0 = 90% of the memory the process may use (its
    // cgroup's limit, else the host's).
    ADMISSION_RSS_MAX_MB: int(0),
    // Sold-out flags are re-read from Redis this often even without an event, bounding how long
    // a change made outside the scripts could go unseen.
    SALE_CACHE_REFRESH_MS: int(1000, 10),
    // Group commit in the worker: orders meeting within this many ms commit in one statement.
    ORDER_BATCH_MAX: int(128, 1),
    ORDER_BATCH_LINGER_MS: int(2),
    // Signs the payment provider's webhook (API.md, Payment). The default is for development
    // only: production sets its own.
    PAYMENT_WEBHOOK_SECRET: z.string().min(16).default('flashline-dev-payment-webhook'),
    // The compensator's sweep for orders past payBy whose expiry job Redis forgot, and for
    // returns a crash left unfinished; each pass handles at most PAYMENT_SWEEP_BATCH orders.
    PAYMENT_SWEEP_INTERVAL_MS: int(1_000, 50),
    PAYMENT_SWEEP_BATCH: int(500, 1),
    // An expiry taking effect later than this after payBy is counted as late.
    EXPIRY_LATE_AFTER_MS: int(5_000, 1),
    // Expiry jobs a worker runs at once.
    EXPIRY_CONCURRENCY: int(16, 1),
  })
  .refine(
    (e) =>
      e.ADMISSION_MIN_LIMIT <= e.ADMISSION_INITIAL_LIMIT &&
      e.ADMISSION_INITIAL_LIMIT <= e.ADMISSION_MAX_LIMIT,
    {
      message: 'need ADMISSION_MIN_LIMIT <= ADMISSION_INITIAL_LIMIT <= ADMISSION_MAX_LIMIT',
      path: ['ADMISSION_INITIAL_LIMIT'],
    },
  )
  .refine((e) => !(e.REDIS_SENTINELS && e.REDIS_CLUSTER_NODES), {
    message: 'set REDIS_SENTINELS or REDIS_CLUSTER_NODES, not both',
    path: ['REDIS_SENTINELS'],
  })
  .refine((e) => !e.REDIS_CLUSTER_NODES || /^\/?0?$/.test(new URL(e.REDIS_URL).pathname), {
    message: 'a Redis Cluster has only database 0: REDIS_URL must name no other',
    path: ['REDIS_URL'],
  })
  .superRefine(checkTrust);

// What this process may use: its cgroup's limit when it has one (Node reports 0, or on some
// versions undefined, without), else the host's memory.
function memoryAvailable(): number {
  const constrained = process.constrainedMemory();
  return constrained > 0 && constrained < totalmem() ? constrained : totalmem();
}

export const defaultMetricsPorts = { bridge: 9101, worker: 9102, compensator: 9103 } as const;

export class ConfigError extends Error {}

// The only place that reads process.env: every other module receives a Config.
export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  const e = parsed.data;
  return {
    nodeEnv: e.NODE_ENV,
    logLevel: e.LOG_LEVEL,
    host: e.HOST,
    port: e.PORT,
    listenBacklog: e.API_LISTEN_BACKLOG,
    apiProcesses: e.API_PROCESSES === 0 ? availableParallelism() : e.API_PROCESSES,
    bridgePort: e.BRIDGE_PORT ?? defaultMetricsPorts.bridge,
    workerPort: e.WORKER_PORT ?? defaultMetricsPorts.worker,
    compensatorPort: e.COMPENSATOR_PORT ?? defaultMetricsPorts.compensator,
    // Which metrics ports were given explicitly (those never move to another port).
    metricsPortsFixed: {
      bridge: e.BRIDGE_PORT !== undefined,
      worker: e.WORKER_PORT !== undefined,
      compensator: e.COMPENSATOR_PORT !== undefined,
    },
    databaseUrl: e.DATABASE_URL,
    pgPoolMax: e.PG_POOL_MAX,
    redisUrl: e.REDIS_URL,
    redisSentinels: e.REDIS_SENTINELS ?? null,
    redisSentinelName: e.REDIS_SENTINEL_NAME,
    redisClusterNodes: e.REDIS_CLUSTER_NODES ?? null,
    orderQueues: e.ORDER_QUEUES ?? (e.REDIS_CLUSTER_NODES ? 12 : 1),
    redisPrefix: e.REDIS_PREFIX,
    amqpUrl: e.AMQP_URL,
    amqpQueueType: e.AMQP_QUEUE_TYPE,
    amqpDeliveryLimit: e.AMQP_DELIVERY_LIMIT,
    ...trustSettings(e),
    adminToken: e.ADMIN_TOKEN,
    publishTimeoutMs: e.PUBLISH_TIMEOUT_MS,
    publishBatchMax: e.PUBLISH_BATCH_MAX,
    bridgePrefetch: e.BRIDGE_PREFETCH,
    bridgeSettleIntervalMs: e.BRIDGE_SETTLE_INTERVAL_MS,
    bridgeReaddAfterMs: e.BRIDGE_READD_AFTER_MS,
    bridgeBulkMax: e.BRIDGE_BULK_MAX,
    workerConcurrency: e.WORKER_CONCURRENCY,
    drainNice: e.DRAIN_NICE,
    jobAttempts: e.JOB_ATTEMPTS,
    jobBackoffMs: e.JOB_BACKOFF_MS,
    workerLockDurationMs: e.WORKER_LOCK_DURATION_MS,
    workerStalledIntervalMs: e.WORKER_STALLED_INTERVAL_MS,
    workerMaxStalledCount: e.WORKER_MAX_STALLED_COUNT,
    compensatorPrefetch: e.COMPENSATOR_PREFETCH,
    compensatorRetryDelayMs: e.COMPENSATOR_RETRY_DELAY_MS,
    reconcileIntervalMs: e.RECONCILE_INTERVAL_MS,
    reconcilePassTimeoutMs: e.RECONCILE_PASS_TIMEOUT_MS,
    recoveryCommandTimeoutMs: e.RECOVERY_COMMAND_TIMEOUT_MS,
    reconcileStaleAfterMs: e.RECONCILE_STALE_AFTER_MS,
    tombstoneTtlSeconds: e.TOMBSTONE_TTL_SECONDS,
    idempotencyTtlSeconds: e.IDEMPOTENCY_TTL_SECONDS,
    rateLimitCapacity: e.RATE_LIMIT_CAPACITY,
    rateLimitRefillPerSecond: e.RATE_LIMIT_REFILL_PER_SECOND,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    faultFailRate: e.FAULT_FAIL_RATE,
    faultKillAfterExpiryCommit: e.FAULT_KILL_AFTER_EXPIRY_COMMIT === '1',
    otlpEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT,
    otelServiceName: e.OTEL_SERVICE_NAME,
    admission: {
      enabled: e.ADMISSION === 'adaptive',
      initialLimit: e.ADMISSION_INITIAL_LIMIT,
      minLimit: e.ADMISSION_MIN_LIMIT,
      maxLimit: e.ADMISSION_MAX_LIMIT,
      windowMs: e.ADMISSION_WINDOW_MS,
      rttTolerance: e.ADMISSION_RTT_TOLERANCE,
      floorMemoryMs: e.ADMISSION_FLOOR_MEMORY_MS,
      cpuMax: e.ADMISSION_CPU_MAX,
      heapMax: e.ADMISSION_HEAP_MAX,
      rssLimitBytes:
        e.ADMISSION_RSS_MAX_MB > 0 ? e.ADMISSION_RSS_MAX_MB * 1024 * 1024 : 0.9 * memoryAvailable(),
    },
    saleCacheRefreshMs: e.SALE_CACHE_REFRESH_MS,
    orderBatchMax: e.ORDER_BATCH_MAX,
    orderBatchLingerMs: e.ORDER_BATCH_LINGER_MS,
    paymentWebhookSecret: e.PAYMENT_WEBHOOK_SECRET,
    paymentSweepIntervalMs: e.PAYMENT_SWEEP_INTERVAL_MS,
    paymentSweepBatch: e.PAYMENT_SWEEP_BATCH,
    expiryLateAfterMs: e.EXPIRY_LATE_AFTER_MS,
    expiryConcurrency: e.EXPIRY_CONCURRENCY,
  };
}

export type Config = ReturnType<typeof loadConfig>;
