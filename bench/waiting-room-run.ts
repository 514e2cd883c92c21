// npm run bench:room [-- --quick]: the waiting room's measure (bench/waiting-room.ts) on a
// system of its own (bare server, API, bridge, worker) in an isolated env, written to
// bench/results/waiting-room.json (quick runs: waiting-room-quick.json). See bench/README.md.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createBenchEnv } from './env.js';
import { spawnProcess, type Child } from './processes.js';
import { signBuyerToken } from '../src/auth/jwt.js';
import { measureWaitingRoom, settle } from './waiting-room.js';

const quick = process.argv.includes('--quick');
const plan = quick
  ? { buyers: 10_000, stock: 1_000, seconds: 3 }
  : { buyers: 100_000, stock: 10_000, seconds: 10 };
const resultsDir = fileURLToPath(new URL('results/', import.meta.url));
const log = (message: string) => process.stdout.write(`[bench:room] ${message}\n`);

async function main() {
  const startedAt = new Date();
  const loadBefore = os.loadavg();
  log(`${quick ? 'quick' : 'full'} run on ${os.cpus().length} cpus`);
  const env = await createBenchEnv('benchroom');
  const children: Child[] = [];
  const db = new pg.Pool({ connectionString: env.config.database.url, max: 2 });
  try {
    const start = async (name: string, entry: string, portVariable?: string) => {
      const child = await spawnProcess(name, entry, {
        env: env.env,
        ...(portVariable ? { portVariable, args: [] } : {}),
      });
      children.push(child);
      log(`${name} pid ${child.child.pid}, the bench's ${process.pid}`);
      return `http://127.0.0.1:${child.port}`;
    };
    const bareUrl = await start('bare', 'bench/bare-server.ts');
    const apiUrl = await start('api', 'src/cmd/api.ts', 'PORT');
    const [barePid, apiPid] = children.map((c) => c.child.pid!);
    await start('worker', 'src/cmd/worker.ts', 'WORKER_PORT');
    await start('bridge', 'src/cmd/bridge.ts', 'BRIDGE_PORT');
    const tokens = Array.from({ length: plan.buyers }, (_, i) =>
      signBuyerToken(`room-buyer-${i}`, env.config.jwt.secret),
    );
    const result = await measureWaitingRoom({
      apiUrls: [apiUrl],
      bareUrls: [bareUrl],
      adminToken: env.config.auth.adminToken,
      redisUrl: env.config.redis.url,
      redisPrefix: env.config.redis.prefix,
      tokens,
      barePids: [barePid!],
      apiPids: [apiPid!],
      ...plan,
      connections: 200,
      log,
      settle: () => settle(db),
    });
    const report = {
      date: startedAt.toISOString(),
      quick,
      machine: {
        cpus: os.cpus().length,
        node: process.version,
        loadAverageBefore: loadBefore.map((x) => Math.round(x * 100) / 100),
        loadAverageAfter: os.loadavg().map((x) => Math.round(x * 100) / 100),
      },
      waitingRoom: result,
    };
    log(`ratios ${JSON.stringify(result.ratios)}`);
    const { bare, poll, join } = result;
    log(
      `CPU per poll ${poll.cpuUsPerAnswer} µs, per bare answer ${bare.pollCpuUsPerAnswer} µs; ` +
        `the driver's ${poll.driverCpuUsPerAnswer} and ${bare.pollDriverCpuUsPerAnswer} µs`,
    );
    log(
      `CPU per join ${join.cpuUsPerAnswer} µs, per bare POST ${bare.joinCpuUsPerAnswer} µs; ` +
        `the driver's ${join.driverCpuUsPerAnswer} and ${bare.joinDriverCpuUsPerAnswer} µs`,
    );
    log(`bytes per place ${result.redisBytesPerPlace}`);
    const { reference, crowd } = result;
    log(
      `admitted p99 ${crowd.serverP99Ms} ms (API event loop p99/max ${crowd.eventLoopLagMs.p99Ms}/${crowd.eventLoopLagMs.maxMs} ms), ` +
        `at half capacity ${reference.serverP99Ms} ms (${reference.eventLoopLagMs.p99Ms}/${reference.eventLoopLagMs.maxMs} ms)`,
    );
    mkdirSync(resultsDir, { recursive: true });
    const file = `${resultsDir}waiting-room${quick ? '-quick' : ''}.json`;
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    log(`wrote ${file}`);
  } finally {
    for (const child of children.reverse()) await child.stop();
    await db.end();
    await env.cleanup();
  }
}

try {
  await main();
} catch (error) {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
}
// autocannon leaves timers behind that would keep a finished run alive.
process.exit();
