import { z } from 'zod';
import {
  amqpUrlList,
  hostPortList,
  int,
  maxPublishBatch,
  ratio,
  unsetWhenEmpty,
} from './fields.js';

// The groups of the pipeline behind the front door: the stores, the broker, the queues and
// each process that drains them, the payment window, admission, fault injection and tracing.
export const pipelineGroups = {
  database: {
    DATABASE_URL: z.string().url().default('postgres://postgres@127.0.0.1:5432/flashline'),
    PG_POOL_MAX: int(10, 1),
  },
  redis: {
    REDIS_URL: z.string().url().default('redis://127.0.0.1:6379/0'),
    REDIS_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,32}$/)
      .default('fl'),
    // A primary found through Sentinel and followed across failovers (API.md, topologies); the
    // database index, user and password still come from REDIS_URL.
    REDIS_SENTINELS: hostPortList,
    REDIS_SENTINEL_NAME: z.string().min(1).default('mymaster'),
    // A Redis Cluster, found from any of these nodes; REDIS_URL then gives only the
    // credentials, and REDIS_PREFIX keeps deployments sharing the cluster apart.
    REDIS_CLUSTER_NODES: hostPortList,
  },
  // The gate's own settings (src/gate).
  gate: {
    TOMBSTONE_TTL_SECONDS: int(7 * 24 * 3600, 60),
    IDEMPOTENCY_TTL_SECONDS: int(24 * 3600, 1),
    // Token bucket per buyer and sale at the gate; capacity 0 turns it off.
    RATE_LIMIT_CAPACITY: int(20),
    RATE_LIMIT_REFILL_PER_SECOND: z.coerce.number().positive().default(10),
  },
  amqp: {
    AMQP_URL: amqpUrlList,
    // Quorum queues are replicated over the cluster's nodes (Raft); classic ones live on one
    // node. A queue's type cannot change once declared (docs/operations.md, switching).
    AMQP_QUEUE_TYPE: z.enum(['quorum', 'classic']).default('quorum'),
    // Deliveries of one message after which a quorum queue dead-letters it instead of handing
    // it out again (a message that kills its consumer every time). Every bridge restart and
    // every failed store redelivers the messages it held, so well above those.
    AMQP_DELIVERY_LIMIT: int(50, 1),
    // Replicas of each quorum queue (x-quorum-initial-group-size), set when a queue is first
    // declared: 3 survives one node's loss, 5 two. 0 leaves it to the broker, for queues
    // declared before this setting existed (docs/operations.md, RabbitMQ cluster).
    AMQP_QUORUM_SIZE: int(3).pipe(z.number().max(7)),
    PUBLISH_TIMEOUT_MS: int(3000, 1),
    // Orders an API process accepts in one event-loop turn go to RabbitMQ as one message, up to
    // this many (1 = a message per order). See src/broker/order-publisher.ts.
    PUBLISH_BATCH_MAX: int(128, 1).pipe(z.number().max(maxPublishBatch)),
  },
  // The BullMQ queues every process shares.
  queues: {
    // BullMQ order queues the orders are spread over, each in a hash slot of its own (so, on a
    // cluster, over the masters); an order's queue follows from its id. Unset: 1 on one
    // server, 12 on a cluster (a multiple of 2, 3, 4 and 6 masters: as many on each). Every
    // process of a deployment must use the same number.
    ORDER_QUEUES: unsetWhenEmpty(z.coerce.number().int().min(1).max(256)),
    JOB_ATTEMPTS: int(8, 1),
    JOB_BACKOFF_MS: int(250, 1),
  },
  bridge: {
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
    // Wait before the bridge stores again a bulk that Redis refused.
    BRIDGE_RETRY_DELAY_MS: int(1_000, 1),
  },
  worker: {
    // Jobs in flight per worker: more of them make larger group commits and claim/confirm
    // batches, so less CPU per order (bench/README.md, the drain (e): 64 -> 512 drained ~1.4x).
    WORKER_CONCURRENCY: int(512, 1),
    // BullMQ's own defaults: a worker that dies holds its jobs until the lock expires and a
    // stalled check of another worker hands them back.
    WORKER_LOCK_DURATION_MS: int(30_000, 100),
    WORKER_STALLED_INTERVAL_MS: int(30_000, 100),
    WORKER_MAX_STALLED_COUNT: int(1, 0),
    // Group commit in the worker: orders meeting within this many ms commit in one statement.
    ORDER_BATCH_MAX: int(128, 1),
    ORDER_BATCH_LINGER_MS: int(2),
    // Expiry jobs a worker runs at once.
    EXPIRY_CONCURRENCY: int(16, 1),
  },
  compensator: {
    COMPENSATOR_PREFETCH: int(32, 1),
    COMPENSATOR_RETRY_DELAY_MS: int(1_000, 1),
  },
  reconcile: {
    RECONCILE_INTERVAL_MS: int(30_000, 50),
    // A reconciler pass (or a repair after Redis lost state) that takes longer fails, is
    // counted, and the next pass tries again; each Redis call of the recovery has its own bound.
    RECONCILE_PASS_TIMEOUT_MS: int(20_000, 100),
    RECOVERY_COMMAND_TIMEOUT_MS: int(5_000, 50),
    // Well above the publish timeout and a bridge backlog: an order still queued when this
    // passes is failed and its stock returned (its job then finds the reservation released).
    RECONCILE_STALE_AFTER_MS: int(300_000, 100),
  },
  payment: {
    // Signs the payment provider's webhook (API.md, Payment). The default is for development
    // only: production sets its own.
    PAYMENT_WEBHOOK_SECRET: z.string().min(16).default('flashline-dev-payment-webhook'),
    // The compensator's sweep for orders past payBy whose expiry job Redis forgot, and for
    // returns a crash left unfinished; each pass handles at most PAYMENT_SWEEP_BATCH orders.
    PAYMENT_SWEEP_INTERVAL_MS: int(1_000, 50),
    PAYMENT_SWEEP_BATCH: int(500, 1),
    // An expiry taking effect later than this after payBy is counted as late.
    EXPIRY_LATE_AFTER_MS: int(5_000, 1),
  },
  // Adaptive admission of purchases (src/api/admission/): at most a limit in flight per API
  // process, moved every window by the latency gradient and cut by the system rules; the
  // excess is answered 503 before the JWT and the body are read. `off` admits everything.
  admission: {
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
  },
  fault: {
    FAULT_FAIL_RATE: ratio(0),
    // Tests the payment window's crash window: '1' makes the worker or the compensator kill
    // itself (SIGKILL) right after committing an order's expiry, before its units go back.
    FAULT_KILL_AFTER_EXPIRY_COMMIT: z
      .enum(['0', '1'])
      .default('0')
      .transform((flag) => flag === '1'),
    // Tests the outbox relay's crash window: '1' makes the events process kill itself (SIGKILL)
    // after its first batch is published and handed to the webhook queue, before it is marked.
    FAULT_KILL_AFTER_EVENTS_PUBLISH: z
      .enum(['0', '1'])
      .default('0')
      .transform((flag) => flag === '1'),
  },
  // The standard OpenTelemetry variables: tracing is off unless an OTLP endpoint is given.
  otel: {
    OTEL_EXPORTER_OTLP_ENDPOINT: unsetWhenEmpty(z.string().url()),
    OTEL_SERVICE_NAME: unsetWhenEmpty(z.string()),
  },
} satisfies Record<string, z.ZodRawShape>;
