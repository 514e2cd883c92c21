// npx tsx bench/profile.ts <sold-out|accepted|bare|drain> [seconds]
// Runs one scenario flat out (200 connections) against a process started with --cpu-prof,
// then prints where that process spent its time (bench/profile-summary.ts). `drain` queues
// orders for `seconds` with no worker running, then profiles the worker (and the bridge)
// while they confirm the backlog. Profiles stay in bench/results/profiles/<process>/.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { waitFor } from '../test/support/env.js';
import { createBenchEnv } from './env.js';
import { signBuyerToken } from '../src/auth/jwt.js';
import { spawnProcess, type Child } from './processes.js';
import { load } from './load.js';
import { createSale } from './sale.js';

const scenario = process.argv[2] ?? 'sold-out';
const seconds = Number(process.argv[3] ?? 10);
const profileDir = fileURLToPath(new URL('results/profiles/', import.meta.url));
const summarize = (name: string) =>
  execFileSync('npx', ['tsx', 'bench/profile-summary.ts', `${profileDir}${name}`, '25'], {
    stdio: 'inherit',
  });

const env = await createBenchEnv('profile');
const children: Child[] = [];
try {
  const bare = scenario === 'bare';
  const profiled = bare ? 'bare' : scenario === 'drain' ? 'worker' : 'api';
  rmSync(`${profileDir}${profiled}`, { recursive: true, force: true });
  const api = await spawnProcess(
    bare ? 'bare' : 'api',
    bare ? 'bench/bare-server.ts' : 'src/cmd/api.ts',
    {
      env: env.env,
      portVariable: 'PORT',
      args: bare ? undefined : [],
      cpuProfileDir: profiled === 'worker' ? undefined : profileDir,
    },
  );
  children.push(api);
  const baseUrl = `http://127.0.0.1:${api.port}`;
  const tokens = Array.from({ length: 50_000 }, (_, i) =>
    signBuyerToken(`b-${i}`, env.config.jwt.secret),
  );
  const stock = scenario === 'sold-out' ? 1 : 10_000_000;
  const saleId = bare
    ? 1
    : await createSale(baseUrl, env.config.auth.adminToken, 'p', stock, 1_000);
  const path = `/sales/${saleId}/purchase`;
  if (scenario === 'sold-out')
    await load({ baseUrl, path, tokens, rotate: false, connections: 1, amount: 1 });
  const result = await load({
    baseUrl,
    path,
    tokens,
    rotate: scenario !== 'sold-out' && !bare,
    connections: 200,
    seconds,
  });
  process.stdout.write(
    `${scenario}: ${Math.round(result.rate())} answers/s ${JSON.stringify(result.byStatus)} p99 ${result.latency.p99} ms\n`,
  );

  if (scenario === 'drain') {
    const backlog = result.byStatus['202'] ?? 0;
    const db = new pg.Pool({ connectionString: env.config.database.url, max: 1 });
    const worker = await spawnProcess('worker', 'src/cmd/worker.ts', {
      env: env.env,
      portVariable: 'WORKER_PORT',
      args: [],
      cpuProfileDir: profileDir,
    });
    children.push(worker);
    children.push(
      await spawnProcess('bridge', 'src/cmd/bridge.ts', {
        env: env.env,
        portVariable: 'BRIDGE_PORT',
        args: [],
      }),
    );
    const started = performance.now();
    const { createOrderQueues } = await import('../src/orders/queue.js');
    const { createBullRedis } = await import('../src/redis/connection.js');
    // Counts summed over every order queue.
    const queue = createOrderQueues(env.config, createBullRedis(env.config));
    const sampler = setInterval(() => {
      void queue
        .getJobCounts('waiting', 'active', 'completed')
        .then((counts) => process.stdout.write(`  ${JSON.stringify(counts)}\n`));
    }, 1000);
    await waitFor(
      async () =>
        (await db.query('SELECT sold FROM sales WHERE id = $1', [saleId])).rows[0].sold >= backlog,
      { timeoutMs: 300_000, intervalMs: 20 },
    );
    clearInterval(sampler);
    await queue.close();
    const elapsed = (performance.now() - started) / 1000;
    process.stdout.write(
      `drain: ${backlog} orders in ${elapsed.toFixed(1)} s (from the worker's start) = ${Math.round(backlog / elapsed)}/s\n`,
    );
    await db.end();
  }
  for (const child of children.reverse()) await child.stop();
  children.length = 0;
  summarize(profiled);
} finally {
  for (const child of children.reverse()) await child.stop();
  await env.cleanup();
}
process.exit();
