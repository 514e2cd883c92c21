import amqp from 'amqplib';
import pg from 'pg';
import { expect } from 'vitest';
import { createTestEnv, waitFor, type TestEnv } from './env.js';
import { assertOracle, type Answer } from './oracle.js';
import { spawnProcess, type Child } from './processes.js';
import { freePort } from './api-process.js';
import { readyWithin } from './failures.js';

import type { RabbitCluster, RabbitNode } from './rabbit-cluster.js';
import { assertTopology } from '../../src/broker/topology.js';
import { tally, type TimedAnswer } from './buyers.js';

// A sale on a RabbitMQ cluster of the test's own (test/support/rabbit-cluster.ts): the
// pipeline's processes each given their own order of the nodes in AMQP_URL.

export type Procs = 'api' | 'bridge' | 'worker' | 'compensator';

// Quorum queues whatever the leg's TEST_AMQP_QUEUE_TYPE: they are what a cluster is for.
// Stale reservations are failed quickly, but only long after an outage: an order whose
// message waits in RabbitMQ while it is down is delivered, not failed.
export function createClusterEnv(name: string, cluster: RabbitCluster): Promise<TestEnv> {
  return createTestEnv(name, {
    AMQP_URL: cluster.urls(),
    AMQP_QUEUE_TYPE: 'quorum',
    RECONCILE_INTERVAL_MS: '500',
    RECONCILE_STALE_AFTER_MS: '30000',
    PUBLISH_TIMEOUT_MS: '2000',
  });
}

// Declares the topology through `node`: RabbitMQ 3.x puts a new quorum queue's leader on the
// node its declaring client is connected to (queue_leader_locator client-local).
export async function declareThrough(env: TestEnv, node: RabbitNode): Promise<void> {
  const connection = await amqp.connect(node.url());
  try {
    await assertTopology(await connection.createChannel(), env.config);
  } finally {
    await connection.close();
  }
}

// One more API process, connecting first to the first node of `nodes`.
export async function spawnApiOn(env: TestEnv, cluster: RabbitCluster, nodes: RabbitNode[]) {
  const port = await freePort();
  const child = spawnProcess('api', env, {
    AMQP_URL: cluster.urls('/', nodes),
    PORT: String(port),
  });
  await readyWithin(child, 60_000);
  return { baseUrl: `http://127.0.0.1:${port}`, child };
}

// The pipeline as child processes, each connecting first to the first node of its list.
export async function spawnOnNodes(
  env: TestEnv,
  cluster: RabbitCluster,
  order: Record<Procs, RabbitNode[]>,
) {
  const port = await freePort();
  const urls = (proc: Procs) => ({ AMQP_URL: cluster.urls('/', order[proc]) });
  const children: Record<Procs, Child> = {
    api: spawnProcess('api', env, { ...urls('api'), PORT: String(port) }),
    bridge: spawnProcess('bridge', env, urls('bridge')),
    worker: spawnProcess('worker', env, urls('worker')),
    compensator: spawnProcess('compensator', env, urls('compensator')),
  };
  await Promise.all(Object.values(children).map((child) => readyWithin(child, 60_000)));
  return { baseUrl: `http://127.0.0.1:${port}`, ...children };
}

// The ports of the nodes a process connected to, in order, from its "amqp connected" lines.
export function connections(child: Child): number[] {
  return child
    .output()
    .split('\n')
    .filter((line) => line.includes('"msg":"amqp connected"'))
    .map((line) => Number(/:(\d+)\//.exec(String(JSON.parse(line).node))?.[1]));
}

// Waits for a 202 to a purchase sent at `since` or later.
export async function sellingSince(
  answers: TimedAnswer[],
  since: number,
  what: string,
  timeoutMs = 60_000,
): Promise<void> {
  await waitFor(async () => answers.some((a) => a.status === 202 && a.sentAt >= since), {
    timeoutMs,
    intervalMs: 100,
    what: () => `a 202 ${what} (answers so far: ${tally(answers)})`,
  });
}

// The queue's leader and members once every member is online again.
export async function wholeQueue(cluster: RabbitCluster, timeoutMs = 60_000) {
  return waitFor(
    async () => {
      const status = await cluster.queue('/', 'flashline.orders');
      return status && status.online.length === cluster.nodes.length ? status : undefined;
    },
    { timeoutMs, intervalMs: 500, what: 'every member of the order queue online' },
  );
}

// The answers of a run against a cluster that lost nodes: only 202, 409, 429 or 503; the
// oracle; every 202 a confirmed unit, and the stock sold out. An order answered 503 whose
// message a quorum did hold (its confirm was lost with a node) ends failed as `released`:
// its units were given back before its message arrived. Resolves with how many did.
export async function expectNothingLost(
  env: TestEnv,
  saleId: number,
  answers: Answer[],
  stock: number,
): Promise<{ lateReleased: number }> {
  const statuses = [...new Set(answers.map((a) => a.status))].sort();
  expect(
    statuses.every((s) => [202, 409, 429, 503].includes(s)),
    `answered ${statuses}`,
  ).toBe(true);
  const oracle = await assertOracle(env, saleId, answers, { timeoutMs: 90_000 });
  expect(oracle.confirmedUnits, 'the stock sold out').toBe(stock);
  const admin = new pg.Client({ connectionString: env.config.database.url });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ id: string; status: string; reason: string | null }>(
      'SELECT id, status, reason FROM orders WHERE sale_id = $1',
      [saleId],
    );
    const status = new Map(rows.map((row) => [row.id, row.status]));
    const acceptedNotConfirmed = answers.filter(
      (a) => a.status === 202 && status.get(a.orderId!) !== 'confirmed',
    );
    expect(acceptedNotConfirmed, 'every 202 confirmed').toEqual([]);
    const failed = rows.filter((row) => row.status !== 'confirmed');
    expect(new Set(failed.map((row) => row.reason)), 'why the others failed').toEqual(
      new Set(failed.length ? ['released'] : []),
    );
    return { lateReleased: failed.length };
  } finally {
    await admin.end();
  }
}

export function expectRunning(children: Child[]): void {
  for (const child of children) {
    expect(child.process.exitCode, `${child.name} still running:\n${child.output()}`).toBeNull();
  }
}
