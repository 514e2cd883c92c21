// npx tsx bench/cluster.ts [orders] [masters]
// The gate and the drain on a local Redis Cluster, in one run: starts `masters` (default 3)
// cluster-enabled redis-servers of its own (appendonly, as the tests do), one sale per master,
// then (gate) `orders` purchases (default 30,000) spread over the sales with no bridge or
// worker running, then (drain) the bridge and the worker until every order is confirmed.
// Prints, per phase, orders/s and each master's CPU (INFO cpu) and commands (INFO
// commandstats), and writes bench/results/cluster.json. All processes share this machine's
// cores with the masters: the per-master figures, not the totals, are what scale.
import { writeFileSync } from 'node:fs';
import pg from 'pg';
import { Redis } from 'ioredis';
import { waitFor } from '../test/support/env.js';
import { startRedisCluster } from '../test/support/redis-cluster.js';
import { stopRedisServers, type RedisServer } from '../test/support/redis-servers.js';
import { saleKeys } from '../src/gate/keys.js';
import { signBuyerToken } from '../src/auth/jwt.js';
import { createBenchEnv } from './env.js';
import { spawnProcess, type Child } from './processes.js';
import { load } from './load.js';
import { createSale } from './sale.js';
import { sampleMaster } from './redis-stats.js';

const numbers = process.argv.slice(2).filter((arg) => /^\d+$/.test(arg));
const orders = Number(numbers[0] ?? 30_000);
const masterCount = Number(numbers[1] ?? 3);
const log = (message: string) => process.stdout.write(`[cluster] ${message}\n`);

type PhaseResult = {
  phase: string;
  orders: number;
  seconds: number;
  ordersPerSecond: number;
  // Per master: cores used over the phase, Redis CPU µs per order it served, calls per second.
  masters: { port: number; cores: number; cpuUsPerOrder: number; callsPerSecond: number }[];
};

async function measure(
  phase: string,
  masters: { server: RedisServer; redis: Redis }[],
  work: () => Promise<number>,
): Promise<PhaseResult> {
  const before = await Promise.all(masters.map((m) => sampleMaster(m.redis)));
  const started = Date.now();
  const count = await work();
  const seconds = (Date.now() - started) / 1000;
  const after = await Promise.all(masters.map((m) => sampleMaster(m.redis)));
  const result: PhaseResult = {
    phase,
    orders: count,
    seconds,
    ordersPerSecond: Math.round(count / seconds),
    masters: masters.map((m, i) => {
      const cpu = after[i]!.cpuSeconds - before[i]!.cpuSeconds;
      return {
        port: m.server.port,
        cores: Number((cpu / seconds).toFixed(3)),
        // Each sale is on its own master and gets a third of the orders; its queues' share of
        // the drain is about the same (orders spread by id).
        cpuUsPerOrder: Number(((cpu * 1e6) / (count / masters.length)).toFixed(1)),
        callsPerSecond: Math.round((after[i]!.calls - before[i]!.calls) / seconds),
      };
    }),
  };
  log(`${phase}: ${count} orders in ${seconds.toFixed(2)} s = ${result.ordersPerSecond}/s`);
  for (const m of result.masters) {
    log(
      `  master ${m.port}: ${m.cores} cores, ${m.cpuUsPerOrder} µs Redis CPU per order of its ` +
        `share, ${m.callsPerSecond} calls/s`,
    );
  }
  return result;
}

const cluster = await startRedisCluster(masterCount);
const env = await createBenchEnv('cluster');
Object.assign(env.env, { REDIS_CLUSTER_NODES: cluster.nodes, REDIS_URL: 'redis://127.0.0.1:1/0' });
const children: Child[] = [];
const db = new pg.Pool({ connectionString: env.config.database.url, max: 1 });
const masters = cluster.masters.map((server) => ({ server, redis: new Redis(server.url) }));
try {
  const api = await spawnProcess('api', 'src/cmd/api.ts', {
    env: env.env,
    portVariable: 'PORT',
    args: [],
  });
  const baseUrl = `http://127.0.0.1:${api.port}`;
  // One sale per master, so the gate's load is spread as a cluster spreads many sales.
  const sales: number[] = [];
  const used = new Set<number>();
  for (let i = 0; sales.length < masterCount && i < 200; i++) {
    const id = await createSale(baseUrl, env.config.auth.adminToken, `c-${i}`, 10_000_000, 1_000);
    const master = await cluster.masterOf(saleKeys(env.config.redis.prefix, id).sale);
    if (!used.has(master.port)) {
      used.add(master.port);
      sales.push(id);
    }
  }
  const tokens = Array.from({ length: 10_000 }, (_, i) =>
    signBuyerToken(`b-${i}`, env.config.jwt.secret),
  );
  let accepted = 0;
  const gate = await measure('gate (API alone)', masters, async () => {
    const results = await Promise.all(
      sales.map((saleId) =>
        load({
          baseUrl,
          path: `/sales/${saleId}/purchase`,
          tokens,
          rotate: true,
          connections: Math.ceil(100 / sales.length),
          amount: Math.ceil(orders / sales.length),
        }),
      ),
    );
    accepted = results.reduce((sum, r) => sum + (r.byStatus['202'] ?? 0), 0);
    return accepted;
  });
  await api.stop();

  const sold = async () =>
    Number((await db.query('SELECT coalesce(sum(sold), 0) AS sold FROM sales')).rows[0].sold);
  for (const name of ['worker', 'bridge'] as const) {
    children.push(
      await spawnProcess(name, `src/cmd/${name}.ts`, {
        env: env.env,
        portVariable: name === 'bridge' ? 'BRIDGE_PORT' : 'WORKER_PORT',
        args: [],
      }),
    );
  }
  const drain = await measure('drain (bridge and worker)', masters, async () => {
    const confirmed = await sold();
    await waitFor(async () => (await sold()) >= accepted, { timeoutMs: 900_000, intervalMs: 50 });
    return accepted - confirmed;
  });
  writeFileSync(
    new URL('results/cluster.json', import.meta.url),
    `${JSON.stringify({ at: new Date().toISOString(), masters: masterCount, orders, gate, drain }, null, 2)}\n`,
  );
} finally {
  for (const child of children.reverse()) await child.stop();
  await db.end();
  for (const m of masters) m.redis.disconnect();
  await stopRedisServers();
  await env.cleanup();
}
process.exit();
