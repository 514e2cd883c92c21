import { freePort } from '../../test/support/api-process.js';
import { createTestEnv, type TestEnv } from '../../test/support/env.js';
import { spawnProcess, type Child } from '../../test/support/processes.js';
import { readyWithin } from '../../test/support/failures.js';
import { startRedisServer, type RedisServer } from '../../test/support/redis-servers.js';
import { startRabbitCluster, type RabbitCluster } from '../../test/support/rabbit-cluster.js';

export type Proc = 'api' | 'bridge' | 'worker' | 'compensator';
export const procs: Proc[] = ['api', 'bridge', 'worker', 'compensator'];

// The system the soak runs on: a Redis and a three-node RabbitMQ cluster of its own (a fault
// restarts or kills them, never the machine's shared ones), a database of its own on the
// machine's PostgreSQL, and the four processes as the Procfile runs them, each on a fixed
// port so that one restarted after a fault serves its metrics where the sampler looks.
export type Stack = {
  env: TestEnv;
  redis: RedisServer;
  rabbit: RabbitCluster;
  baseUrl: string;
  ports: Record<Proc, number>;
  children: Record<Proc, Child>;
  // Starts `proc` again after it died (a fault), and waits for its "ready".
  respawn: (proc: Proc) => Promise<void>;
  stop: () => Promise<void>;
};

// The TTLs of what stays behind on purpose (a reservation's tombstone, an Idempotency-Key)
// are days in production; here they are short, so that over an hour the keys they hold reach
// their level and a count still rising after that is a leak.
const soakSettings = {
  TOMBSTONE_TTL_SECONDS: '120',
  IDEMPOTENCY_TTL_SECONDS: '60',
  RECONCILE_INTERVAL_MS: '1000',
  RECONCILE_STALE_AFTER_MS: '60000',
  WORKER_LOCK_DURATION_MS: '5000',
  WORKER_STALLED_INTERVAL_MS: '2000',
};

export async function startStack(): Promise<Stack> {
  const redis = await startRedisServer();
  const rabbit = await startRabbitCluster(3);
  const env = await createTestEnv('soak', {
    ...soakSettings,
    REDIS_URL: redis.url,
    AMQP_URL: rabbit.urls(),
    AMQP_QUEUE_TYPE: 'quorum',
  });
  const ports: Record<Proc, number> = {
    api: await freePort(),
    bridge: await freePort(),
    worker: await freePort(),
    compensator: await freePort(),
  };
  const overrides = (proc: Proc): Record<string, string> => ({
    [proc === 'api' ? 'PORT' : `${proc.toUpperCase()}_PORT`]: String(ports[proc]),
  });
  const spawn = async (proc: Proc) => {
    const child = spawnProcess(proc, env, overrides(proc));
    await readyWithin(child, 90_000);
    return child;
  };
  const children = {} as Record<Proc, Child>;
  for (const proc of procs) children[proc] = await spawn(proc);
  return {
    env,
    redis,
    rabbit,
    baseUrl: `http://127.0.0.1:${ports.api}`,
    ports,
    children,
    respawn: async (proc) => {
      children[proc] = await spawn(proc);
    },
    stop: async () => {
      await Promise.all(
        procs.map(async (proc) => {
          children[proc].kill('SIGTERM');
          await children[proc].exited;
        }),
      );
      await env.cleanup().catch(() => undefined);
      await rabbit.stop();
      await redis.stop();
    },
  };
}
