import { totalmem } from 'node:os';
import { getHeapStatistics } from 'node:v8';
import { z } from 'zod';
import { defaultAlgorithms } from './config/fields.js';
import { eventsGroups } from './config/events.js';
import { frontGroups } from './config/front.js';
import { pipelineGroups } from './config/pipeline.js';
import { roomGroups } from './config/room.js';
import { exportGroups } from './config/exports.js';

export {
  amqpNodeUrls,
  defaultMetricsPorts,
  identityAlgorithms,
  type IdentityAlgorithm,
} from './config/fields.js';

// Every variable, named once, as it is in the environment, in the group of Config it belongs
// to. Its field is its name without the group's prefix, in camelCase: REDIS_SENTINEL_NAME is
// config.redis.sentinelName, PG_POOL_MAX config.database.pgPoolMax (fieldName below).
const groups = {
  ...frontGroups,
  ...pipelineGroups,
  ...exportGroups,
  ...eventsGroups,
  ...roomGroups,
};

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

// A quarter of the heap limit, unless the API's processes together would then take more than a
// quarter of the memory: each process's heap limit ignores its siblings.
function verifiedCacheDefault(processes: number): number {
  return Math.min(getHeapStatistics().heap_size_limit, memoryAvailable() / processes) / 4;
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
  const { queues, admission, jwt, api, ...rest } = parsed.data;
  const { verifiedCacheMb, ...apiRest } = api;
  const { admission: mode, rssMaxMb, ...limits } = admission;
  const verifiedCacheBytes =
    verifiedCacheMb > 0 ? verifiedCacheMb * 1024 * 1024 : verifiedCacheDefault(api.processes);
  return {
    ...rest,
    // Half the verified-token budget for the buyers' JWTs (src/auth/), half for the room's
    // tickets (src/room/tokens.ts).
    api: {
      ...apiRest,
      verifiedCacheBytes,
      jwtCacheBytes: verifiedCacheBytes / 2,
      ticketCacheBytes: verifiedCacheBytes / 2,
    },
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
