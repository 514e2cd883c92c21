import { afterEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { Queue, QueueEvents } from 'bullmq';
import { createTestEnv, waitFor, type TestEnv } from '../support/env.js';
import { client, groupByStatus } from '../support/system.js';
import { assertOracle } from '../support/oracle.js';
import { killAll, spawnProcess } from '../support/processes.js';
import { startApi } from '../../src/cmd/wiring/api.js';
import { startBridge } from '../../src/cmd/wiring/bridge.js';
import { bullPrefix, orderQueueNames } from '../../src/queues/names.js';
import { createBullRedis } from '../../src/redis/connection.js';
import { buyersNamed, buyOnce } from '../support/buyers.js';

const cleanups: (() => Promise<unknown>)[] = [];

// A sale of 300 units to 400 buyers through an in-process API and bridge, with the worker
// and the compensator as child processes. Mid-sale the worker is held inside its database
// transactions (a lock on sales), so it certainly dies with jobs in hand, and is killed
// with SIGKILL; a new worker is started.
async function killWorkerMidSale(name: string, overrides: Record<string, string>) {
  const env: TestEnv = await createTestEnv(name, {
    // Small enough that a dead worker's jobs come back within seconds, not BullMQ's 30 s.
    WORKER_LOCK_DURATION_MS: '2000',
    WORKER_STALLED_INTERVAL_MS: '1000',
    WORKER_CONCURRENCY: '16',
    // A batch blocked on the lock still commits after the kill (PostgreSQL finishes a
    // statement whose client died; the order is then confirmed, correctly). Small batches
    // leave most of the 16 jobs in hand queued behind it, unwritten, so the kill certainly
    // leaves orders only a stalled-job path can settle. With one batch for all 16 (claims
    // are batched too, so they reach the batcher in the same turn), nothing would be left.
    ORDER_BATCH_MAX: '4',
    // The test watches one queue's active and stalled jobs (on a cluster run too).
    ORDER_QUEUES: '1',
    ...overrides,
  });
  cleanups.push(() => env.cleanup());
  const api = await startApi(env.config, env.logger);
  cleanups.push(() => api.stop());
  const bridge = await startBridge(env.config, env.logger);
  cleanups.push(() => bridge.stop());
  const { queue, admin, locker, count, stalled } = await watch(env);

  const compensator = spawnProcess('compensator', env);
  const first = spawnProcess('worker', env);
  await Promise.all([compensator.ready, first.ready]);

  const buyers = client(`http://127.0.0.1:${api.port}`, env);
  const sale = await buyers.createSale({ sku: name, name, stock: 300 });
  const saleId = sale.body.id as number;
  const buying = buyOnce(buyers, saleId, buyersNamed('buyer', 400), 16);
  await waitFor(async () => (await count('SELECT count(*) FROM orders')) >= 20, {
    what: 'the first worker confirming orders',
  });

  await locker.query('BEGIN');
  await locker.query('LOCK TABLE sales IN SHARE ROW EXCLUSIVE MODE');
  try {
    // Blocked mid-commit, with more jobs in hand than one batch holds.
    await waitFor(
      async () =>
        (await count(
          `SELECT count(*) FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        )) > 0 && (await queue.getActiveCount()) >= 8,
      { what: 'jobs blocked mid-commit, and more queued behind them' },
    );
    first.kill('SIGKILL');
    expect(await first.exited).toMatchObject({ signal: 'SIGKILL' });
  } finally {
    await locker.query('ROLLBACK');
  }

  const second = spawnProcess('worker', env);
  await second.ready;
  const answers = await buying;
  expect(Object.keys(groupByStatus(answers)).sort()).toEqual(['202', '409']);
  const oracle = await assertOracle(env, saleId, answers);
  const failedReasons = (
    await admin.query(`SELECT DISTINCT reason FROM orders WHERE status = 'failed'`)
  ).rows.map((r: { reason: string }) => r.reason);

  // SIGTERM drains and exits cleanly.
  second.kill('SIGTERM');
  compensator.kill('SIGTERM');
  expect(await second.exited, second.output()).toEqual({ code: 0, signal: null });
  expect(await compensator.exited, compensator.output()).toEqual({ code: 0, signal: null });
  return { oracle, stalled: stalled(), failedReasons };
}

// The order queue and its stalled events, a connection to count rows and one to hold a lock.
async function watch(env: TestEnv) {
  const events = new QueueEvents(orderQueueNames(env.config)[0]!, {
    connection: createBullRedis(env.config),
    prefix: bullPrefix(env.config),
  });
  cleanups.push(() => events.close());
  await events.waitUntilReady();
  const queue = new Queue(orderQueueNames(env.config)[0]!, {
    connection: createBullRedis(env.config),
    prefix: bullPrefix(env.config),
  });
  cleanups.push(() => queue.close());
  let stalled = 0;
  events.on('stalled', () => (stalled += 1));
  const admin = new pg.Client({ connectionString: env.config.database.url });
  const locker = new pg.Client({ connectionString: env.config.database.url });
  await admin.connect();
  await locker.connect();
  cleanups.push(
    () => admin.end(),
    () => locker.end(),
  );
  const count = async (query: string) => Number((await admin.query(query)).rows[0].count);
  return { queue, admin, locker, count, stalled: () => stalled };
}

describe('kill -9 of a worker process mid-sale', () => {
  afterEach(async () => {
    await killAll();
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });

  it('hands the dead worker’s jobs to a new one; no order is lost or doubled', async () => {
    const { oracle, stalled } = await killWorkerMidSale('worker-kill', {});
    expect(oracle).toMatchObject({ confirmedUnits: 300, failed: 0 });
    expect(stalled, 'the dead worker’s jobs were found stalled and run again').toBeGreaterThan(0);
  });

  it('dead-letters jobs that stalled more often than allowed, and returns their stock', async () => {
    // No second chance: BullMQ fails a stalled job without running it, so only the worker's
    // `failed` listener can hand the order to the compensator.
    const { oracle, stalled, failedReasons } = await killWorkerMidSale('worker-kill-limit', {
      WORKER_MAX_STALLED_COUNT: '0',
    });
    expect(stalled).toBeGreaterThan(0);
    expect(oracle.failed, 'stalled orders failed').toBeGreaterThan(0);
    expect(failedReasons).toEqual(['stalled']);
  });
});
