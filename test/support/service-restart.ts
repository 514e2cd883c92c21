import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, expect } from 'vitest';
import { createTestEnv, services, waitFor, type TestEnv } from './env.js';
import { spawnPipeline } from './failures.js';
import { killAll, type Child } from './processes.js';
import { client, groupByStatus } from './system.js';
import { shopInBackground, tally, type TimedAnswer } from './buyers.js';

// Restarts of the shared RabbitMQ and PostgreSQL, for tests that hold the exclusive test lock
// (`flock -x /tmp/flashline-tests.lock`). Every start is idempotent, so a `finally` or an
// afterAll can call it whatever state a failed test left the service in.

const run = promisify(execFile);

async function command(file: string, args: string[], timeoutMs: number): Promise<string> {
  const { stdout } = await run(file, args, { timeout: timeoutMs });
  return stdout;
}

// Stops the RabbitMQ application (the node stays up for rabbitmqctl); every client loses its
// connection. Durable queues, persistent messages and vhosts are kept on disk.
export async function stopRabbitMq(): Promise<void> {
  await command('rabbitmqctl', ['-q', 'stop_app'], 60_000);
}

// Starts the RabbitMQ application and waits until it serves; a no-op when it already runs.
export async function startRabbitMq({ timeoutMs = 90_000 } = {}): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await command('rabbitmqctl', ['-q', 'start_app'], 60_000);
      await command('rabbitmqctl', ['-q', 'await_startup', '--timeout', '60'], 70_000);
      await command('rabbitmqctl', ['-q', 'status'], 30_000);
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(1_000);
    }
  }
}

// The one cluster under /etc/postgresql (`pg_lsclusters` shows 15/main here).
export function postgresVersion(): string {
  const versions = readdirSync('/etc/postgresql').sort();
  const version = versions[versions.length - 1];
  if (!version) throw new Error('no PostgreSQL cluster under /etc/postgresql');
  return version;
}

const pgCluster = (action: string) =>
  command(
    'pg_ctlcluster',
    ['--skip-systemctl-redirect', postgresVersion(), 'main', action],
    // A fast shutdown still waits for a checkpoint; on a loaded machine that takes seconds.
    90_000,
  );

// Until PostgreSQL accepts connections and answers a query (pg_isready alone says yes a
// moment before a login works while the cluster is still recovering).
export async function waitForPostgres({ timeoutMs = 60_000 } = {}): Promise<void> {
  const { hostname, port } = new URL(services.postgres);
  await waitFor(
    async () => {
      try {
        await command('pg_isready', ['-q', '-h', hostname, '-p', port || '5432'], 10_000);
        const client = new pg.Client({
          connectionString: `${services.postgres}/postgres`,
          connectionTimeoutMillis: 5_000,
        });
        client.on('error', () => undefined);
        try {
          await client.connect();
          await client.query('SELECT 1');
        } finally {
          await client.end().catch(() => undefined);
        }
        return true;
      } catch {
        return false;
      }
    },
    { timeoutMs, intervalMs: 250, what: 'PostgreSQL accepting connections' },
  );
}

// Fast-mode stop (active transactions rolled back, clients disconnected, new ones refused).
// If `stop` fails, `start` is tried, so the cluster is left running rather than half down.
export async function stopPostgres(): Promise<void> {
  try {
    await pgCluster('stop');
  } catch (error) {
    await startPostgres();
    throw error;
  }
}

// Fast-mode restart, for the soak (bench/soak/faults.ts): stop, then start, either way up.
export async function restartPostgres(): Promise<void> {
  try {
    await pgCluster('restart');
  } catch {
    await startPostgres();
    return;
  }
  await waitForPostgres();
}

// Starts the cluster unless it runs (pg_ctlcluster exits 2 for "already running").
export async function startPostgres(): Promise<void> {
  try {
    await pgCluster('start');
  } catch {
    // Already running, or starting: the wait below decides.
  }
  await waitForPostgres();
}

// For a `finally` or afterAll: both services up, whatever the test did to them.
export async function ensureServicesUp(): Promise<void> {
  const results = await Promise.allSettled([startRabbitMq(), startPostgres()]);
  const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failures.length) throw new AggregateError(failures.map((f) => f.reason as unknown));
}

// The pipeline as child processes on an environment of the file's own, for a test file that
// restarts a shared service: its afterAll brings the services back up before anything else.
// The reconciler passes every half second, so what the outage strands is settled soon after.
export function pipelineAcrossRestart(name: string, vars: Record<string, string>) {
  const run = {} as { env: TestEnv; baseUrl: string; children: Child[] };
  beforeAll(async () => {
    run.env = await createTestEnv(name, { RECONCILE_INTERVAL_MS: '500', ...vars });
    const pipeline = await spawnPipeline(run.env);
    run.baseUrl = pipeline.baseUrl;
    run.children = [pipeline.api, pipeline.bridge, pipeline.worker, pipeline.compensator];
  });
  afterAll(async () => {
    // Whatever happened above, the next test file finds the database and the broker up.
    await ensureServicesUp();
    await killAll();
    await run.env?.cleanup();
  });
  // A sale of `stock` on that pipeline, and a client of its API.
  const sale = async (sku: string, stock: number) => {
    const api = client(run.baseUrl, run.env);
    const created = await api.createSale({ sku, name: 'Restarted', stock });
    return { env: run.env, children: run.children, api, saleId: created.body.id as number };
  };
  return { sale };
}

// Until a purchase sent at `since` or later (the service back) is accepted.
const until202After = (shoppers: { answers: TimedAnswer[] }, since: number) =>
  waitFor(async () => shoppers.answers.some((a) => a.status === 202 && a.sentAt >= since), {
    timeoutMs: 30_000,
    what: () => `a 202 after the restart (answers so far: ${tally(shoppers.answers)})`,
  });

// `outage` (which breaks the service and brings it back) with the shoppers under way; then
// every buyer is let in, a purchase sent after the outage must be accepted, and every buyer
// answered. `start` runs whatever happens, so the service is left up. Resolves with the answers.
export async function shopThroughOutage(
  shoppers: ReturnType<typeof shopInBackground>,
  outage: () => Promise<void>,
  start: () => Promise<void>,
): Promise<TimedAnswer[]> {
  try {
    await outage();
    const resentAt = Date.now();
    shoppers.admit();
    await until202After(shoppers, resentAt);
    await shoppers.done();
  } finally {
    await shoppers.stop();
    await start();
  }
  return shoppers.answers;
}

// Every purchase answered as an outage allows: accepted, refused, limited or "try again".
export function expectOutageAnswers(answers: TimedAnswer[]): void {
  const statuses = Object.keys(groupByStatus(answers)).map(Number);
  expect(
    statuses.every((s) => [202, 409, 429, 503].includes(s)),
    `answered ${statuses}`,
  ).toBe(true);
}

// Why the environment's failed orders failed, each reason once.
// The failed orders, with their reasons and buyers.
export async function failedOrders(
  env: TestEnv,
): Promise<{ id: string; reason: string; buyer: string }[]> {
  const admin = new pg.Client({ connectionString: env.config.database.url });
  await admin.connect();
  try {
    const { rows } = await admin.query(
      `SELECT id, reason, user_id AS buyer FROM orders WHERE status = 'failed'`,
    );
    return rows as { id: string; reason: string; buyer: string }[];
  } finally {
    await admin.end();
  }
}
