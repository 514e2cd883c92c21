// npx tsx bench/drain.ts [orders] [--split]
// The drain (e) alone, with what it costs per order. Queues `orders` purchases (default
// 20,000) with no bridge or worker running, stops the API, then starts the bridge and the
// worker and waits until every order is confirmed in PostgreSQL. Prints orders/s and, per
// order, the CPU of each process (/proc) and Redis's own time per command (INFO
// commandstats; commands run inside a script count both under it and under EVALSHA).
// --split runs the bridge alone first (until every job is stored), then the worker alone,
// so each one's cost is measured without the other. BENCH_ENV='{"WORKER_CONCURRENCY":"256"}'
// tries other settings. Redis, RabbitMQ and PostgreSQL serve the whole machine: their
// figures include whatever else runs there.
import pg from 'pg';
import { Redis } from 'ioredis';
import { waitFor } from '../test/support/env.js';
import { createBenchEnv } from './env.js';
import { signBuyerToken } from '../src/auth/jwt.js';
import { spawnProcess, type Child } from './processes.js';
import { load } from './load.js';
import { coresBetween, sampleCpu, type CpuSample } from './cpu.js';
import { createSale } from './sale.js';
import { commandStats, isScript, type CommandStats } from './redis-stats.js';
import { bullPrefix, orderQueueName } from '../src/queues/names.js';

const orders = Number(process.argv.find((arg) => /^\d+$/.test(arg)) ?? 20_000);
const split = process.argv.includes('--split');
const log = (message: string) => process.stdout.write(`[drain] ${message}\n`);

type Sample = { cpu: CpuSample; commands: CommandStats };

function report(phase: string, before: Sample, after: Sample, count: number) {
  const seconds = (after.cpu.at - before.cpu.at) / 1000;
  log(`${phase}: ${count} orders in ${seconds.toFixed(2)} s = ${Math.round(count / seconds)}/s`);
  const cores = coresBetween(before.cpu, after.cpu);
  const perOrder = Object.entries(cores)
    .filter(([, used]) => used > 0)
    .map(([name, used]) => `${name} ${Math.round((used * seconds * 1e6) / count)}`)
    .join(', ');
  log(`  CPU µs per order: ${perOrder}`);
  const rows: [string, number, number][] = [];
  for (const [name, { calls, usec }] of after.commands) {
    const was = before.commands.get(name) ?? { calls: 0, usec: 0 };
    if (calls > was.calls) rows.push([name, calls - was.calls, usec - was.usec]);
  }
  rows.sort((a, b) => b[2] - a[2]);
  const scripts = rows.filter(([name]) => isScript(name));
  const scriptUsec = scripts.reduce((sum, [, , usec]) => sum + usec, 0);
  const others = rows.filter(([name]) => !isScript(name));
  log(
    `  Redis µs per order: scripts ${(scriptUsec / count).toFixed(1)} ` +
      `(${(scripts.reduce((sum, [, calls]) => sum + calls, 0) / count).toFixed(2)} calls)`,
  );
  log(
    `  Redis commands per order (calls, µs): ${others
      .slice(0, 12)
      .map(
        ([name, calls, usec]) =>
          `${name} ${(calls / count).toFixed(2)}/${(usec / count).toFixed(1)}`,
      )
      .join(', ')}`,
  );
}

const env = await createBenchEnv('drain');
const children: Child[] = [];
const db = new pg.Pool({ connectionString: env.config.database.url, max: 1 });
const redis = new Redis(env.config.redis.url);
try {
  const api = await spawnProcess('api', 'src/cmd/api.ts', {
    env: env.env,
    portVariable: 'PORT',
    args: [],
  });
  const baseUrl = `http://127.0.0.1:${api.port}`;
  const saleId = await createSale(baseUrl, env.config.auth.adminToken, 'd', 10_000_000, 1_000);
  const tokens = Array.from({ length: 10_000 }, (_, i) =>
    signBuyerToken(`b-${i}`, env.config.jwt.secret),
  );
  const queued = await load({
    baseUrl,
    path: `/sales/${saleId}/purchase`,
    tokens,
    rotate: true,
    connections: 100,
    amount: orders,
  });
  await api.stop();
  const backlog = queued.byStatus['202'] ?? 0;
  log(`queued ${backlog} orders ${JSON.stringify(queued.byStatus)}`);

  const pids = () => Object.fromEntries(children.map((c) => [c.name, c.child.pid]));
  const sample = async (): Promise<Sample> => ({
    commands: await commandStats(redis),
    cpu: sampleCpu(pids()),
  });
  const sold = async () =>
    Number((await db.query('SELECT sold FROM sales WHERE id = $1', [saleId])).rows[0].sold);
  // One Redis here, so one order queue (ORDER_QUEUES unset).
  const waitKey = `${bullPrefix(env.config)}:${orderQueueName(0)}:wait`;
  const spawn = async (name: 'bridge' | 'worker') =>
    children.push(
      await spawnProcess(name, `src/cmd/${name}.ts`, {
        env: env.env,
        portVariable: name === 'bridge' ? 'BRIDGE_PORT' : 'WORKER_PORT',
        args: [],
      }),
    );
  const until = (done: () => Promise<boolean>) =>
    waitFor(done, { timeoutMs: 600_000, intervalMs: 20 });

  // A process starts consuming before it answers /healthz: only the orders handled between
  // the two samples count, and its start-up CPU stays out.
  if (split) {
    await spawn('bridge');
    const before = await sample();
    const stored = await redis.llen(waitKey);
    await until(async () => (await redis.llen(waitKey)) >= backlog);
    report('bridge alone', before, await sample(), backlog - stored);
    await spawn('worker');
    const started = await sample();
    const confirmed = await sold();
    await until(async () => (await sold()) >= backlog);
    report('worker alone', started, await sample(), backlog - confirmed);
  } else {
    await spawn('worker');
    await spawn('bridge');
    const before = await sample();
    const confirmed = await sold();
    await until(async () => (await sold()) >= backlog);
    report('bridge and worker', before, await sample(), backlog - confirmed);
  }
} finally {
  for (const child of children.reverse()) await child.stop();
  await db.end();
  redis.disconnect();
  await env.cleanup();
}
process.exit();
