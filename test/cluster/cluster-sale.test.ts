import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestEnv, rabbitmqctl, type TestEnv } from '../support/env.js';
import { client, groupByStatus, pool } from '../support/system.js';
import { assertOracle, type Answer } from '../support/oracle.js';
import { metric, spawnPipeline, settleFast } from '../support/failures.js';
import { killAll } from '../support/processes.js';
import { stopRedisServers } from '../support/redis-servers.js';
import { startRedisCluster, type RedisCluster } from '../support/redis-cluster.js';
import { saleKeys } from '../../src/gate/keys.js';
import { bullPrefix, orderQueueNames } from '../../src/queues/names.js';

// The whole pipeline, as the Procfile's processes, on a Redis Cluster of three masters of the
// test's own, with REDIS_URL pointing nowhere: nothing may fall back to a single server.
// a flash sale on a Redis Cluster
let cluster: RedisCluster;
let env: TestEnv;
let sut: Awaited<ReturnType<typeof spawnPipeline>>;

beforeAll(async () => {
  cluster = await startRedisCluster(3);
  env = await createTestEnv('cluster-sale', {
    REDIS_CLUSTER_NODES: cluster.nodes,
    REDIS_URL: 'redis://127.0.0.1:1/0',
    ...settleFast,
  });
  sut = await spawnPipeline(env);
});
afterAll(async () => {
  await killAll();
  await stopRedisServers();
  await env?.cleanup();
});

it('sells three sales on different masters exactly, through order queues on every master', async () => {
  const api = client(sut.baseUrl, env);
  expect((await api.raw('GET', '/readyz', {})).status).toBe(200);
  // Sales until three of them live on three different masters.
  const sales: { id: number; port: number }[] = [];
  for (let i = 0; sales.length < 3 && i < 40; i++) {
    const created = await api.createSale({ sku: `cluster-${i}`, name: 'Cluster', stock: 60 });
    expect(created.status).toBe(201);
    const id = created.body.id as number;
    const master = await cluster.masterOf(saleKeys(env.config.redis.prefix, id).sale);
    if (!sales.some((s) => s.port === master.port)) sales.push({ id, port: master.port });
  }
  expect(sales).toHaveLength(3);

  const tasks = sales.flatMap((sale) =>
    Array.from({ length: 100 }, (_, i) => async (): Promise<Answer & { saleId: number }> => {
      const buyer = `buyer-${i % 80}`;
      const answer = await api.purchase(sale.id, buyer);
      return {
        status: answer.status,
        orderId: answer.body?.orderId,
        buyer,
        quantity: 1,
        saleId: sale.id,
      };
    }),
  );
  const answers = await pool(tasks, 64);
  expect(Object.keys(groupByStatus(answers)).sort()).toEqual(['202', '409']);

  for (const sale of sales) {
    const own = answers.filter((a) => a.saleId === sale.id);
    expect(groupByStatus(own)['202']).toHaveLength(60);
    const result = await assertOracle(env, sale.id, own);
    expect(result).toMatchObject({ confirmedUnits: 60, failed: 0 });
    const view = await api.sale(sale.id);
    expect(view.body).toMatchObject({ stock: 60, remaining: 0, soldOut: true });
  }

  // No attempt of any job failed: every script call found its slot the first time (a
  // script routed by its key count instead of its first key fails its attempt, and only a
  // retry with another batch size may land on the right master).
  const workerPort = Number(sut.worker.logged('worker metrics listening')?.metricsPort);
  expect(workerPort).toBeGreaterThan(0);
  expect(await metric(workerPort, 'flashline_jobs_total', { outcome: 'retried' })).toBe(0);
  expect(await metric(workerPort, 'flashline_jobs_total', { outcome: 'failed' })).toBe(0);

  // The order queues' jobs sit on more than one master: the drain is spread too.
  const prefix = bullPrefix(env.config);
  const mastersWithJobs = await Promise.all(
    cluster.masters.map(async (m) => (await m.cli('--scan', '--pattern', `${prefix}:*`)) !== ''),
  );
  expect(mastersWithJobs.filter(Boolean).length).toBeGreaterThan(1);

  // bull-board shows every order queue.
  const board = await api.raw('GET', '/admin/queues/api/queues', {
    authorization: `Bearer ${env.config.auth.adminToken}`,
  });
  expect(board.status, JSON.stringify(board.body)).toBe(200);
  const shown = (board.body.queues as { name: string }[]).map((q) => q.name);
  for (const name of orderQueueNames(env.config)) expect(shown).toContain(name);

  // The queues are of the configured type (quorum unless the run chose classic).
  const vhost = decodeURIComponent(new URL(env.config.amqp.url).pathname.slice(1));
  const types = await rabbitmqctl('list_queues', '-p', vhost, 'name', 'type');
  for (const queue of ['flashline\\.orders', 'flashline\\.orders\\.dead']) {
    expect(types).toMatch(new RegExp(`^${queue}\\s+${env.config.amqp.queueType}$`, 'm'));
  }
});
