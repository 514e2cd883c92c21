import { afterAll, beforeAll, expect, it } from 'vitest';
import pg from 'pg';
import { createTestEnv, waitFor, type TestEnv } from '../support/env.js';
import { client, groupByStatus, startSystem, type System } from '../support/system.js';
import { assertOracle } from '../support/oracle.js';
import { metric, startTestCompensator, type RunningCompensator } from '../support/failures.js';
import { buyersNamed, buyOnce } from '../support/buyers.js';

// PostgreSQL backends terminated mid-sale
let env: TestEnv;
let system: System;
let compensator: RunningCompensator;
let admin: pg.Client;
let locker: pg.Client;
let lockerPid: number;

beforeAll(async () => {
  // Few jobs in flight, so group commits stay small and the 300 units take many
  // transactions: both terminations must land while the sale is still being written.
  env = await createTestEnv('pg-terminate', { WORKER_CONCURRENCY: '32' });
  system = await startSystem(env);
  compensator = await startTestCompensator(env);
  admin = new pg.Client({ connectionString: env.config.database.url });
  locker = new pg.Client({ connectionString: env.config.database.url });
  await admin.connect();
  await locker.connect();
  lockerPid = Number((await locker.query('SELECT pg_backend_pid() AS pid')).rows[0].pid);
});
afterAll(async () => {
  await locker?.end().catch(() => undefined);
  await admin?.end().catch(() => undefined);
  await compensator?.stop();
  await system?.stop();
  await env?.cleanup();
});

const database = () => new URL(env.config.database.url).pathname.slice(1);
const rows = async () => Number((await admin.query('SELECT count(*) FROM orders')).rows[0].count);

// Holds the workers inside their transactions (their UPDATE of sales waits for the lock),
// then terminates every backend of the test database but the two of this test, so each
// termination lands in a transaction in flight rather than on an idle connection.
async function terminateMidTransaction(): Promise<number> {
  await locker.query('BEGIN');
  await locker.query('LOCK TABLE sales IN SHARE ROW EXCLUSIVE MODE');
  try {
    await waitFor(
      async () =>
        Number(
          (
            await admin.query(
              `SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'`,
              [database()],
            )
          ).rows[0].count,
        ) > 0,
      { what: 'a worker transaction waiting on the lock' },
    );
    const terminated = await admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE datname = $1 AND pid NOT IN (pg_backend_pid(), $2)`,
      [database(), lockerPid],
    );
    return terminated.rowCount ?? 0;
  } finally {
    await locker.query('ROLLBACK');
  }
}

it('retries the interrupted orders and loses none', async () => {
  const api = client(system.baseUrl, env);
  const sale = await api.createSale({ sku: 'pg-terminate', name: 'Terminated', stock: 300 });
  const saleId = sale.body.id as number;

  const buying = buyOnce(api, saleId, buyersNamed('buyer', 450));
  await waitFor(async () => (await rows()) >= 20, { what: 'the sale under way' });
  expect(await terminateMidTransaction()).toBeGreaterThan(0);
  const between = await rows();
  await waitFor(async () => (await rows()) >= between + 20, { what: 'orders flowing again' });
  expect(await terminateMidTransaction()).toBeGreaterThan(0);

  const answers = await buying;
  expect(Object.keys(groupByStatus(answers)).sort()).toEqual(['202', '409']);
  const oracle = await assertOracle(env, saleId, answers);
  expect(oracle).toMatchObject({ confirmedUnits: 300, failed: 0 });
  const retried = await metric(system.worker.metricsPort, 'flashline_jobs_total', {
    outcome: 'retried',
    error_class: 'transient',
  });
  expect(retried, 'interrupted jobs were retried').toBeGreaterThan(0);
});
