// npx tsx bench/shards.ts [purchases] [masters] [connections]
// One hot sale on a local Redis Cluster, in one run: (A) with `shards: 1`, then (B) with
// `shards: <masters>`, each taking `purchases` (default 30,000) reserves from as many distinct
// buyers, flat out at `connections` (default 100), with no bridge or worker running (the
// gate and the publish, as cluster.ts's gate phase). Starts `masters` (default 3)
// cluster-enabled redis-servers of its own, as cluster.ts does. Prints, per phase, the
// reserves (202) per second and their latency, and each master's Redis CPU (INFO cpu), script
// calls (INFO commandstats) and share of the phase's Redis CPU; then the ratios B/A. Checks
// that every purchase was answered 202 and that the sale's remaining is its stock less the
// 202s (exit code 1 otherwise), and writes bench/results/shards.json.
// Admission is off here (BENCH_ENV='{"ADMISSION":"adaptive"}' turns it back on): flat out,
// its 503s would be retried at once and measure the retry storm, not the gate.
// Everything shares this machine's cores: the totals measure the machine; the split of the
// gate's Redis CPU over the masters is what a cluster with a core per master multiplies.
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { Redis } from 'ioredis';
import { startRedisCluster } from '../test/support/redis-cluster.js';
import { stopRedisServers } from '../test/support/redis-servers.js';
import { signBuyerToken } from '../src/auth/jwt.js';
import { benchOverrides, createBenchEnv } from './env.js';
import { spawnProcess, stopEveryProcess, type Child } from './processes.js';
import { load } from './load.js';
import { createShardedSale, phase, type Master, type PhaseResult } from './shards-phase.js';

const numbers = process.argv.slice(2).filter((arg) => /^\d+$/.test(arg));
const purchases = Number(numbers[0] ?? 30_000);
const masterCount = Number(numbers[1] ?? 3);
const connections = Number(numbers[2] ?? 100);
const stock = 1_000_000;
const warmup = Math.min(2_000, Math.ceil(purchases / 10));
// The whole run, and then its cleanup, each bounded: a hung process must not hold the box.
const runLimitMs = 240_000;
const cleanupLimitMs = 60_000;
const log = (message: string) => process.stdout.write(`[shards] ${message}\n`);

if (purchases + warmup > stock) throw new Error(`at most ${stock - warmup} purchases`);
if (masterCount < 2 || masterCount > 64) throw new Error('masters: 2 to 64');

const ratio = (a: number, b: number) => (b > 0 ? Number((a / b).toFixed(2)) : null);

// Each path warmed up on a sale of its own first, so neither phase pays the JIT.
async function warmUp(apiUrl: string, adminToken: string, tokens: string[]) {
  for (const shards of [1, masterCount]) {
    const saleId = await createShardedSale(apiUrl, adminToken, `warm-${shards}`, shards, stock);
    const warm = await load({
      baseUrl: apiUrl,
      path: `/sales/${saleId}/purchase`,
      tokens,
      rotate: true,
      connections,
      amount: warmup,
    });
    log(`warm-up, ${shards} shard(s): ${warm.byStatus['202'] ?? 0} of ${warmup} answered 202`);
  }
}

// The ratios of phase B over phase A, logged.
function compare(a: PhaseResult, b: PhaseResult) {
  const ratios = {
    reservesPerSecondBOverA: ratio(b.reservesPerSecond, a.reservesPerSecond),
    busiestMasterShareA: a.busiest.share,
    busiestMasterShareB: b.busiest.share,
    busiestMasterScriptCallsPerReserveA: a.busiest.scriptCallsPerReserve,
    busiestMasterScriptCallsPerReserveB: b.busiest.scriptCallsPerReserve,
    busiestMasterCpuPerReserveBOverA: ratio(
      Math.max(...b.masters.map((m) => m.cpuUsPerReserve)),
      Math.max(...a.masters.map((m) => m.cpuUsPerReserve)),
    ),
    redisCpuPerReserveBOverA: ratio(b.redisCpuUsPerReserve, a.redisCpuUsPerReserve),
    reservesPerBusiestMasterCoreBOverA: ratio(
      b.reservesPerBusiestMasterCore,
      a.reservesPerBusiestMasterCore,
    ),
  };
  log('ratios, B over A:');
  log(
    `  reserves/s: ${b.reservesPerSecond} / ${a.reservesPerSecond} = ` +
      `${ratios.reservesPerSecondBOverA} (on this machine's ${cpus().length} cores, shared by all)`,
  );
  log(
    `  busiest master's share of the Redis CPU: A ${(a.busiest.share * 100).toFixed(1)}% -> ` +
      `B ${(b.busiest.share * 100).toFixed(1)}% (an even split would be ` +
      `${(100 / masterCount).toFixed(1)}%)`,
  );
  log(
    `  busiest master's script calls per reserve: A ${a.busiest.scriptCallsPerReserve} -> ` +
      `B ${b.busiest.scriptCallsPerReserve}`,
  );
  log(
    `  busiest master's CPU per reserve: ${ratios.busiestMasterCpuPerReserveBOverA}; ` +
      `Redis CPU per reserve, all masters: ${b.redisCpuUsPerReserve} / ` +
      `${a.redisCpuUsPerReserve} µs = ${ratios.redisCpuPerReserveBOverA}`,
  );
  log(
    `  reserves/s per core of the busiest master (the one sale's gate ceiling): ` +
      `${b.reservesPerBusiestMasterCore} / ${a.reservesPerBusiestMasterCore} = ` +
      `${ratios.reservesPerBusiestMasterCoreBOverA}`,
  );
  return ratios;
}

type Started = {
  children: Child[];
  masters: Master[];
  env?: Awaited<ReturnType<typeof createBenchEnv>>;
};

async function main(started: Started): Promise<boolean> {
  const { children, masters } = started;
  const cluster = await startRedisCluster(masterCount);
  for (const server of cluster.masters) masters.push({ server, redis: new Redis(server.url) });
  const env = await createBenchEnv('shards');
  started.env = env;
  try {
    Object.assign(env.env, {
      REDIS_CLUSTER_NODES: cluster.nodes,
      REDIS_URL: 'redis://127.0.0.1:1/0',
      ADMISSION: benchOverrides.ADMISSION ?? 'off',
    });
    const api = await spawnProcess('api', 'src/cmd/api.ts', {
      env: env.env,
      portVariable: 'PORT',
      args: [],
    });
    children.push(api);
    const apiUrl = `http://127.0.0.1:${api.port}`;
    log(
      `${masterCount} masters (${cluster.nodes}), ${purchases} purchases per phase at ` +
        `${connections} connections, ADMISSION=${env.env.ADMISSION}`,
    );
    // One buyer per purchase (perUserLimit 1); a few spare in case autocannon asks for more.
    const tokens = Array.from({ length: purchases + warmup + connections }, (_, i) =>
      signBuyerToken(`b-${i}`, env.config.jwt.secret),
    );
    await warmUp(apiUrl, env.config.auth.adminToken, tokens);
    const ctx = {
      apiUrl,
      adminToken: env.config.auth.adminToken,
      prefix: env.config.redis.prefix,
      cluster,
      masters,
      tokens,
      pids: () => Object.fromEntries(children.map((c) => [c.name, c.child.pid])),
      purchases,
      connections,
      stock,
    };
    const a = await phase('A (1 shard)', 1, ctx);
    const b = await phase(`B (${masterCount} shards)`, masterCount, ctx);

    const ratios = compare(a, b);
    const ok = a.check.ok && b.check.ok && a.reserves === purchases && b.reserves === purchases;
    writeFileSync(
      new URL('results/shards.json', import.meta.url),
      `${JSON.stringify(
        {
          at: new Date().toISOString(),
          masters: masterCount,
          purchases,
          connections,
          stock,
          settings: { ...benchOverrides, ADMISSION: env.env.ADMISSION },
          ok,
          phases: [a, b],
          ratios,
        },
        null,
        2,
      )}\n`,
    );
    log('wrote bench/results/shards.json');
    return ok;
  } finally {
    for (const child of children.reverse()) await child.stop();
    children.length = 0;
    await env.cleanup();
  }
}

const started: Started = { children: [], masters: [] };
let timer: NodeJS.Timeout | undefined;
try {
  const ok = await Promise.race([
    main(started),
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`the run took over ${runLimitMs / 1000} s`)),
        runLimitMs,
      );
    }),
  ]);
  if (!ok) {
    log('!!! FAILED: not every purchase was a 202, or the remaining units do not add up');
    process.exitCode = 1;
  }
} catch (error) {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
} finally {
  clearTimeout(timer);
  // Whatever main left running (a timed-out run is still inside it): stopped here, bounded.
  const hardStop = setTimeout(() => {
    process.stderr.write('[shards] cleanup took too long; killing what is left\n');
    for (const child of started.children) child.child.kill('SIGKILL');
    process.exit(1);
  }, cleanupLimitMs);
  await stopEveryProcess().catch(() => undefined);
  for (const m of started.masters) m.redis.disconnect();
  await stopRedisServers();
  // A second call waits for the first (bench/env.ts): here for a run main never finished.
  await started.env?.cleanup().catch(() => undefined);
  clearTimeout(hardStop);
}
// autocannon leaves timers behind that would keep a finished run alive.
process.exit();
