import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import pg from 'pg';
import { createTestEnv, waitFor, type TestEnv } from '../support/env.js';
import { client, groupByStatus } from '../support/system.js';
import { assertOracle } from '../support/oracle.js';
import { spawnPipeline } from '../support/failures.js';
import { killAll, type Child } from '../support/processes.js';
import { ensureServicesUp, startRabbitMq, stopRabbitMq } from '../support/service-restart.js';
import { buyersNamed, buyOnce, shopInBackground, tally } from '../support/buyers.js';

// Issue #12, item 4: the whole broker goes away mid-sale (`rabbitmqctl stop_app`) and comes
// back (`start_app`). Run alone: `flock -x /tmp/flashline-tests.lock npx vitest run <file>`.
// RabbitMQ restarted mid-sale
let env: TestEnv;
let children: Child[] = [];
let baseUrl: string;

beforeAll(async () => {
  env = await createTestEnv('amqp-restart', {
    // Stale reservations are failed quickly, but only long after the outage: an order whose
    // message waits in RabbitMQ while it is down is delivered, not failed.
    RECONCILE_INTERVAL_MS: '500',
    RECONCILE_STALE_AFTER_MS: '30000',
    PUBLISH_TIMEOUT_MS: '2000',
  });
  const pipeline = await spawnPipeline(env);
  baseUrl = pipeline.baseUrl;
  children = [pipeline.api, pipeline.bridge, pipeline.worker, pipeline.compensator];
});
afterAll(async () => {
  // Whatever happened above, the next test file finds the broker up.
  await ensureServicesUp();
  await killAll();
  await env?.cleanup();
});

it('answers 503 while the broker is away, sells again after, and loses no 202', async () => {
  const api = client(baseUrl, env);
  const stock = 300;
  const sale = await api.createSale({ sku: 'amqp-restart', name: 'Restarted', stock });
  const saleId = sale.body.id as number;

  const shoppers = shopInBackground(api, saleId, buyersNamed('buyer', 400), { admit: 120 });
  let stoppedAt = 0;
  let restartingAt = 0;
  let resentAt = 0;
  try {
    await waitFor(async () => shoppers.accepted() >= 40, { what: 'the sale under way' });
    await stopRabbitMq();
    stoppedAt = Date.now();
    // New buyers keep pressing buy against a broker that is gone.
    shoppers.admit(30);
    await sleep(3_000);
    restartingAt = Date.now();
    await startRabbitMq();
    resentAt = Date.now();
    shoppers.admit();
    await waitFor(
      async () => shoppers.answers.some((a) => a.status === 202 && a.sentAt >= resentAt),
      {
        timeoutMs: 30_000,
        what: () => `a 202 after the restart (answers so far: ${tally(shoppers.answers)})`,
      },
    );
    await shoppers.done();
  } finally {
    await shoppers.stop();
    await startRabbitMq();
  }
  const answers = shoppers.answers;

  // Asked and answered while the broker was stopped: nothing could be queued, so 503.
  const whileDown = answers.filter((a) => a.sentAt >= stoppedAt && a.answeredAt <= restartingAt);
  expect(whileDown.length, 'purchases were tried while the broker was down').toBeGreaterThan(0);
  // By status: the shared tally also names each code.
  expect(
    tally(whileDown.map(({ status }) => ({ status }))),
    'answers while the broker was down',
  ).toBe(JSON.stringify({ 503: whileDown.length }));
  const statuses = Object.keys(groupByStatus(answers)).map(Number);
  expect(
    statuses.every((s) => [202, 409, 429, 503].includes(s)),
    `answered ${statuses}`,
  ).toBe(true);

  // Every buyer had a final answer, so every 202 must be a confirmed unit: none was lost
  // with the broker (and then failed by the reconciler).
  const oracle = await assertOracle(env, saleId, answers);
  const admin = new pg.Client({ connectionString: env.config.database.url });
  await admin.connect();
  const failedReasons = (
    await admin.query(`SELECT DISTINCT reason FROM orders WHERE status = 'failed'`)
  ).rows.map((r: { reason: string }) => r.reason);
  await admin.end();
  expect(failedReasons, 'no accepted order failed').toEqual([]);
  expect(oracle).toMatchObject({ confirmedUnits: stock, failed: 0 });

  // Nothing is left for anyone: a late buyer is refused, and every process is still running.
  const late = await buyOnce(api, saleId, buyersNamed('late', 5));
  expect(tally(late)).toBe(JSON.stringify({ 409: 5 }));
  for (const child of children) {
    expect(child.process.exitCode, `${child.name} still running:\n${child.output()}`).toBeNull();
  }
}, 90_000);
