import { afterAll, beforeAll, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { createTestEnv, waitFor, type TestEnv } from '../support/env.js';
import { client, type Client } from '../support/system.js';
import { readyWithin, settleFast } from '../support/failures.js';
import { killAll, spawnProcess, type Child } from '../support/processes.js';
import { freePort } from '../support/api-process.js';
import { assertPaymentOracle, orderRows } from '../support/payments.js';
import { untilConfirmed, windowSale } from '../support/payment-steps.js';
import { buyOnce } from '../support/buyers.js';
import { createDatabase } from '../../src/db/client.js';
import { Gate, gateOptions } from '../../src/gate/gate.js';
import { readDrift } from '../../src/compensator/drift.js';
import { saleKeys } from '../../src/gate/keys.js';
import { bullPrefix, expiryQueueName } from '../../src/queues/names.js';
import { createBullRedis, createRedis, type RedisClient } from '../../src/redis/connection.js';

const fault = { FAULT_KILL_AFTER_EXPIRY_COMMIT: '1' };

// docs/failure-model.md, the payment window: a process dies between an order's row turning
// `expired` and its units' return to Redis, and the expiry jobs live in a Redis that can
// forget them. PostgreSQL knows both, so the compensator's sweep finishes the return and
// expires what no job will; meanwhile the drift check does not mistake the units on their
// way back for drift, and afterwards they sell again, exactly.
// the payment window, whatever crashes
let env: TestEnv;
let api: Client;
// Whatever topology the environment runs on (one server, or the CI's cluster leg).
let redis: RedisClient;

beforeAll(async () => {
  env = await createTestEnv('paycrash', { ...settleFast, PAYMENT_SWEEP_INTERVAL_MS: '300' });
  redis = createRedis(env.config);
});
afterAll(async () => {
  await killAll();
  redis?.disconnect();
  await env?.cleanup();
});

const started = async (name: string, overrides: Record<string, string> = {}) => {
  const child = spawnProcess(name, env, overrides);
  await readyWithin(child);
  return child;
};

// One buyer after the other.
const buyAll = (saleId: number, buyers: string[]) => buyOnce(api, saleId, buyers, 1);

// The state a crash leaves: one order expired in PostgreSQL (sold and the buyer's units
// already down), its reservation still F in Redis, its units not back.
const expectCrashWindow = async (saleId: number) => {
  const rows = await orderRows(env, saleId);
  const expired = rows.filter((o) => o.status === 'expired');
  expect(expired).toHaveLength(1);
  expect(expired[0]!.returned_at).toBeNull();
  const keys = saleKeys(env.config.redis.prefix, saleId);
  expect(await redis.hget(keys.reservation(expired[0]!.id), 's')).toBe('F');
  expect(Number(await redis.hget(keys.sale, 'remaining'))).toBe(0);
  // The reconciler's drift reading counts the units on their way back: nothing to repair.
  const db = createDatabase(env.config.database.url, 1);
  const gateRedis = createRedis(env.config);
  const gate = new Gate(gateRedis, gateOptions(env.config));
  try {
    const reading = await readDrift(db, gate, saleId);
    expect(reading?.drift).toBe(0);
  } finally {
    gateRedis.disconnect();
    await db.$client.end();
  }
};

const resellExactly = async (saleId: number, stock: number, prefix: string) => {
  const again = await buyAll(
    saleId,
    Array.from({ length: stock + 1 }, (_, i) => `${prefix}-${i}`),
  );
  expect(again.map((a) => a.status).sort()).toEqual([...Array<number>(stock).fill(202), 409]);
  return again;
};

let apiChild: Child;
// The API and the bridge as child processes, and the test's client of that API.
const startFront = async () => {
  const port = await freePort();
  apiChild = await started('api', { PORT: String(port) });
  await started('bridge');
  api = client(`http://127.0.0.1:${port}`, env);
};

it('a worker killed between the row turning expired and the units coming back', async () => {
  await startFront();
  // One expiry at a time, so exactly one is caught in the window.
  const worker = await started('worker', { ...fault, EXPIRY_CONCURRENCY: '1' });
  const saleId = await windowSale(api, ['crash-worker', 'Crash worker'], 3, 10);
  const answers = await buyAll(saleId, ['w-1', 'w-2', 'w-3']);
  expect(answers.map((a) => a.status)).toEqual([202, 202, 202]);

  // Its first expiry job commits the row, then the worker dies before the return.
  expect((await worker.exited).signal).toBe('SIGKILL');
  await expectCrashWindow(saleId);

  await started('worker');
  await started('compensator');
  const result = await assertPaymentOracle(env, saleId, answers, { windowsClosed: true });
  expect(result).toMatchObject({ expired: 3, paid: 0, unpaid: 0, remaining: 3 });
  const more = await resellExactly(saleId, 3, 'w-again');
  await assertPaymentOracle(env, saleId, [...answers, ...more]);
  await killAll();
});

it('expiry jobs lost by Redis, and a compensator killed mid-expiry', async () => {
  await startFront();
  await started('worker');
  const saleId = await windowSale(api, ['crash-compensator', 'Crash compensator'], 3, 10);
  const answers = await buyAll(saleId, ['c-1', 'c-2', 'c-3']);
  await untilConfirmed(env, saleId, 3, 'three orders confirmed');
  // Redis forgets the delayed jobs: no worker will ever expire these orders.
  const bullRedis = createBullRedis(env.config);
  const queue = new Queue(expiryQueueName, {
    connection: bullRedis,
    prefix: bullPrefix(env.config),
  });
  await waitFor(async () => (await queue.getDelayedCount()) === 3, { what: 'expiry jobs' });
  await queue.obliterate({ force: true });
  await queue.close();
  bullRedis.disconnect();

  // The sweep finds the first one past payBy in PostgreSQL, commits it, and dies.
  const compensator = await started('compensator', fault);
  expect((await compensator.exited).signal).toBe('SIGKILL');
  await expectCrashWindow(saleId);
  const [first] = (await orderRows(env, saleId)).filter((o) => o.status === 'expired');
  expect(first!.updated_at.getTime() - first!.pay_by!.getTime()).toBeLessThan(5_000);

  await started('compensator');
  const result = await assertPaymentOracle(env, saleId, answers, { windowsClosed: true });
  expect(result).toMatchObject({ expired: 3, remaining: 3 });
  for (const row of await orderRows(env, saleId)) {
    expect(row.updated_at.getTime()).toBeGreaterThanOrEqual(row.pay_by!.getTime());
  }
  const more = await resellExactly(saleId, 3, 'c-again');
  await assertPaymentOracle(env, saleId, [...answers, ...more]);
  expect(apiChild.output()).not.toContain('"level":50');
});
