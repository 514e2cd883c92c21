import { isIP } from 'node:net';
import { availableParallelism, totalmem } from 'node:os';
import { z } from 'zod';

// The most orders one message may hold (maxOrdersPerMessage in src/broker/messages.ts, where
// a longer message is refused as unparseable). Written here too, since config imports nothing
// from the domain; src/config.test.ts checks that the two agree.
const maxPublishBatch = 10_000;

const int = (fallback: number, min = 0) => z.coerce.number().int().min(min).default(fallback);
const ratio = (fallback: number) => z.coerce.number().min(0).max(1).default(fallback);
// Left unset, a metrics port is its default (defaultMetricsPorts) and may move up to the next
// free port; set, it is the operator's choice and must be free (metricsPortChoice).
const metricsPort = z.coerce.number().int().min(0).max(65_535).optional();
// OpenTelemetry treats an empty variable as unset; so does this schema.
const unsetWhenEmpty = <T extends z.ZodType>(inner: T) =>
  z.preprocess((value) => (value === '' ? undefined : value), inner.optional());

const hostPortList = unsetWhenEmpty(
  z
    .string()
    .regex(/^[^,:\s]+:\d{1,5}(,[^,:\s]+:\d{1,5})*$/, 'a list host:port,host:port')
    .transform((list) =>
      list.split(',').map((entry) => {
        const colon = entry.lastIndexOf(':');
        return { host: entry.slice(0, colon), port: Number(entry.slice(colon + 1)) };
      }),
    ),
).transform((list) => list ?? null);

// AMQP_URL: one RabbitMQ node, or several nodes of one cluster, comma-separated, all of one
// vhost (src/broker/urls.ts connects to them; docs/operations.md, RabbitMQ cluster). Throws
// saying what is wrong.
export function amqpNodeUrls(list: string): URL[] {
  const urls = list.split(',').map((entry) => {
    const url = URL.canParse(entry.trim()) ? new URL(entry.trim()) : null;
    if (!url || (url.protocol !== 'amqp:' && url.protocol !== 'amqps:')) {
      throw new Error(`not an amqp:// or amqps:// URL: ${JSON.stringify(entry.trim())}`);
    }
    return url;
  });
  // As amqplib reads it: the path without its slash, unescaped; none is `/`.
  const vhosts = new Set(urls.map((url) => decodeURIComponent(url.pathname.slice(1)) || '/'));
  if (vhosts.size > 1) throw new Error(`the nodes name different vhosts: ${[...vhosts].join(' ')}`);
  return urls;
}

const amqpUrlList = z
  .string()
  .default('amqp://guest:guest@127.0.0.1:5672/')
  .superRefine((list, ctx) => {
    try {
      amqpNodeUrls(list);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
    }
  });

// Signature algorithms an identity provider's key set may use: asymmetric only (a shared
// secret is JWT_SECRET's business, and "none" is never one).
export const identityAlgorithms = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;
export type IdentityAlgorithm = (typeof identityAlgorithms)[number];
const defaultAlgorithms: IdentityAlgorithm[] = ['RS256', 'ES256', 'EdDSA'];

function isCidr(entry: string): boolean {
  const [address = '', bits, extra] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

const list = (text: string) => text.split(',').map((entry) => entry.trim());

export const defaultMetricsPorts = { bridge: 9101, worker: 9102, compensator: 9103 } as const;

// Every variable, named once, as it is in the environment, in the group of Config it belongs
// to. Its field is its name without the group's prefix, in camelCase: REDIS_SENTINEL_NAME is
// config.redis.sentinelName, PG_POOL_MAX config.database.pgPoolMax (fieldName below).
const groups = {
  process: {
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
    LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info'),
    SHUTDOWN_TIMEOUT_MS: int(10_000, 100),
    // CPU niceness of the bridge, the worker and the compensator (0 = the API's). At 2,000
    // orders/s with the drain beside the API on two cores, 10 took the accepted path's p99 from
    // a median of 55 ms to 36 ms (bench/README.md, (d)); on hosts of their own it changes nothing.
    DRAIN_NICE: int(10).pipe(z.number().max(19)),
  },
  // Every HTTP listener: the API's, and the /metrics of the other processes.
  http: {
    HOST: z.string().default('0.0.0.0'),
    PORT: int(3000),
    BRIDGE_PORT: metricsPort,
    WORKER_PORT: metricsPort,
    COMPENSATOR_PORT: metricsPort,
    // Proxies whose X-Forwarded-For names the client (CIDRs, comma-separated); without them
    // the client is the socket's peer.
    TRUSTED_PROXIES: unsetWhenEmpty(
      z
        .string()
        .transform(list)
        .pipe(z.array(z.string().refine(isCidr, 'a list of CIDRs'))),
    ).transform((proxies) => proxies ?? []),
  },
  api: {
    // Connections the kernel may hold completed for the API before it accepts them (the kernel
    // caps it at net.core.somaxconn). Node's default, 511, is smaller than a crowd that connects
    // at once: past it the kernel drops the buyer's SYN and the browser tries again a whole
    // second later.
    API_LISTEN_BACKLOG: int(4096, 1),
    // API processes sharing PORT (node:cluster); 0 = one per core. A Node process answers on one
    // core, so a host with more cores needs more processes to use them.
    API_PROCESSES: int(1).transform((n) => (n === 0 ? availableParallelism() : n)),
    // Sold-out flags are re-read from Redis this often even without an event, bounding how long
    // a change made outside the scripts could go unseen.
    SALE_CACHE_REFRESH_MS: int(1000, 10),
  },
  auth: {
    ADMIN_TOKEN: z.string().min(8).default('flashline-dev-admin'),
  },
  // Buyer tokens: HS256 with JWT_SECRET, or an identity provider's key set (API.md, "Buyer
  // identity from an identity provider"; docs/security.md).
  jwt: {
    // Unset: 'flashline-dev-secret', unless JWT_JWKS_URL names an identity provider.
    JWT_SECRET: unsetWhenEmpty(z.string().min(8)),
    JWT_JWKS_URL: unsetWhenEmpty(z.string().url()),
    JWT_ISSUER: unsetWhenEmpty(z.string().min(1)),
    // One audience, or several separated by commas: a token naming any of them is accepted.
    JWT_AUDIENCE: unsetWhenEmpty(z.string().min(1).transform(list)),
    JWT_ALGORITHMS: unsetWhenEmpty(
      z
        .string()
        .transform(list)
        .pipe(z.array(z.enum(identityAlgorithms)).min(1)),
    ),
    // A token with a kid the cached key set lacks fetches the set again at most this often.
    JWT_JWKS_COOLDOWN_SECONDS: int(30, 1),
    // The key set is fetched again in the background once it is this old...
    JWT_JWKS_MAX_AGE_SECONDS: int(600, 1),
    // ...and, while the provider cannot be reached, its last copy is trusted this long.
    JWT_JWKS_MAX_STALE_SECONDS: int(24 * 3600, 1),
    JWT_JWKS_TIMEOUT_MS: int(5_000, 100),
    // Slack granted to exp and nbf for the provider's clock against ours.
    JWT_CLOCK_TOLERANCE_SECONDS: int(30).pipe(z.number().max(300)),
  },
  // Proof of work (API.md; src/pow/): what an attempt costs a client.
  pow: {
    // Signs proof-of-work challenges. The default is for development only.
    POW_SECRET: z.string().min(16).default('flashline-dev-proof-of-work'),
    POW_CHALLENGE_SECONDS: int(120, 10).pipe(z.number().max(3600)),
    // PBKDF2 iterations per attempt (ALTCHA's cost), from a quiet sale to a crowded one...
    POW_MIN_COST: int(50, 1),
    POW_MAX_COST: int(500, 1),
    // ...and the attempts a solution takes on average: a challenge costs its solver about
    // POW_ATTEMPTS x cost iterations, and the server one derivation of `cost` to issue it.
    POW_ATTEMPTS: int(8000, 2),
    // Challenges issued per second for one sale, over every API process, at which the cost
    // reaches POW_MAX_COST; from none up to it the cost rises in a straight line.
    POW_CROWD_RATE: int(500, 1),
  },
  // Challenges one buyer, and one client address, may ask of one sale per window (0: no
  // limit). The address limit is generous: a campus or a carrier shares one address.
  challenge: {
    CHALLENGE_BUYER_LIMIT: int(20),
    CHALLENGE_ADDRESS_LIMIT: int(1000),
    CHALLENGE_LIMIT_WINDOW_SECONDS: int(10, 1),
  },
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
  },
  // The standard OpenTelemetry variables: tracing is off unless an OTLP endpoint is given.
  otel: {
    OTEL_EXPORTER_OTLP_ENDPOINT: unsetWhenEmpty(z.string().url()),
    OTEL_SERVICE_NAME: unsetWhenEmpty(z.string()),
  },
} satisfies Record<string, z.ZodRawShape>;

type Groups = typeof groups;
type CamelCase<S extends string> = S extends `${infer Head}_${infer Tail}`
  ? `${Lowercase<Head>}${Capitalize<CamelCase<Tail>>}`
  : Lowercase<S>;
type FieldName<G extends string, V extends string> = V extends `${Uppercase<G>}_${infer Rest}`
  ? CamelCase<Rest>
  : CamelCase<V>;
type Grouped = {
  [G in keyof Groups & string]: {
    [V in keyof Groups[G] & string as FieldName<G, V>]: z.output<Groups[G][V]>;
  };
};
type Flat<U> = (U extends unknown ? (all: U) => void : never) extends (all: infer I) => void
  ? I
  : never;

function fieldName(group: string, variable: string): string {
  const prefix = `${group.toUpperCase()}_`;
  const rest = variable.startsWith(prefix) ? variable.slice(prefix.length) : variable;
  return rest.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

// The validated variables, each moved to its group under its field name.
function regroup(values: Record<string, unknown>): Grouped {
  const entries = Object.entries(groups).map(([group, shape]) => [
    group,
    Object.fromEntries(Object.keys(shape).map((v) => [fieldName(group, v), values[v]])),
  ]);
  return Object.fromEntries(entries) as Grouped;
}

const schema = z
  .object(Object.assign({}, ...Object.values(groups)) as Flat<Groups[keyof Groups]>)
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
  .superRefine((e, ctx) => {
    const problem = (path: string, message: string) =>
      ctx.addIssue({ code: 'custom', path: [path], message });
    if (e.JWT_SECRET && e.JWT_JWKS_URL) {
      problem('JWT_SECRET', 'set JWT_SECRET or JWT_JWKS_URL, not both');
    }
    // Settings only the identity provider's tokens honour: without it they would be ignored.
    if (!e.JWT_JWKS_URL && (e.JWT_ISSUER || e.JWT_AUDIENCE || e.JWT_ALGORITHMS)) {
      problem('JWT_JWKS_URL', 'JWT_ISSUER, JWT_AUDIENCE and JWT_ALGORITHMS need JWT_JWKS_URL');
    }
    // Keys fetched over plain HTTP could be swapped on the way.
    if (e.NODE_ENV === 'production' && e.JWT_JWKS_URL && !e.JWT_JWKS_URL.startsWith('https:')) {
      problem('JWT_JWKS_URL', 'JWT_JWKS_URL must be https in production');
    }
    if (e.POW_MIN_COST > e.POW_MAX_COST)
      problem('POW_MIN_COST', 'need POW_MIN_COST <= POW_MAX_COST');
  })
  .transform(regroup);

// The identity provider's settings, when JWT_JWKS_URL names one.
function identityProvider(jwt: Grouped['jwt']) {
  if (!jwt.jwksUrl) return null;
  return {
    jwksUrl: jwt.jwksUrl,
    issuer: jwt.issuer ?? null,
    audience: jwt.audience ?? null,
    algorithms: jwt.algorithms ?? defaultAlgorithms,
    cooldownMs: jwt.jwksCooldownSeconds * 1000,
    maxAgeMs: jwt.jwksMaxAgeSeconds * 1000,
    maxStaleMs: jwt.jwksMaxStaleSeconds * 1000,
    timeoutMs: jwt.jwksTimeoutMs,
    clockToleranceSeconds: jwt.clockToleranceSeconds,
  };
}

// What this process may use: its cgroup's limit when it has one (Node reports 0, or on some
// versions undefined, without), else the host's memory.
function memoryAvailable(): number {
  const constrained = process.constrainedMemory();
  return constrained > 0 && constrained < totalmem() ? constrained : totalmem();
}

export class ConfigError extends Error {}

// The only place that reads process.env: every other module receives a Config. The fields
// that follow from more than one variable are derived here.
export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  const { queues, admission, jwt, ...rest } = parsed.data;
  const { admission: mode, rssMaxMb, ...limits } = admission;
  return {
    ...rest,
    jwt: { secret: jwt.secret ?? 'flashline-dev-secret', identityProvider: identityProvider(jwt) },
    queues: { ...queues, orderQueues: queues.orderQueues ?? (rest.redis.clusterNodes ? 12 : 1) },
    admission: {
      ...limits,
      enabled: mode === 'adaptive',
      rssLimitBytes: rssMaxMb > 0 ? rssMaxMb * 1024 * 1024 : 0.9 * memoryAvailable(),
    },
  };
}

export type Config = ReturnType<typeof loadConfig>;
export type IdentityProviderConfig = NonNullable<Config['jwt']['identityProvider']>;
export type ProofOfWorkConfig = Config['pow'];
