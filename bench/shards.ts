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
import { startRedisCluster, type RedisCluster } from '../test/support/redis-cluster.js';
import { stopRedisServers, type RedisServer } from '../test/support/redis-servers.js';
import { homeKeys, saleKeys, shardKeys } from '../src/gate/keys.js';
import { signBuyerToken } from '../src/auth/jwt.js';
import { benchOverrides, createBenchEnv } from './env.js';
import { spawnProcess, stopEveryProcess, type Child } from './processes.js';
import { load, type LoadResult } from './load.js';
import { sampleMaster } from './redis-stats.js';
import { coresBetween, sampleCpu } from './cpu.js';

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

// Opens a sale through the admin route with `shards` (bench/sale.ts sends no shards).
async function createShardedSale(
  apiUrl: string,
  adminToken: string,
  sku: string,
  shards: number,
): Promise<number> {
  const response = await fetch(`${apiUrl}/admin/sales`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ sku, name: sku, stock, perUserLimit: 1, shards }),
  });
  const text = await response.text();
  if (response.status !== 201) throw new Error(`create sale ${sku}: ${response.status} ${text}`);
  const sale = JSON.parse(text) as { id: number; shards?: number };
  if (sale.shards !== undefined && sale.shards !== shards) {
    throw new Error(`create sale ${sku}: asked for ${shards} shards, got ${sale.shards}`);
  }
  return sale.id;
}

async function remainingOf(apiUrl: string, saleId: number): Promise<number> {
  const response = await fetch(`${apiUrl}/sales/${saleId}`);
  if (response.status !== 200) throw new Error(`GET /sales/${saleId}: ${response.status}`);
  return ((await response.json()) as { remaining: number }).remaining;
}

type Master = { server: RedisServer; redis: Redis };

type MasterResult = {
  port: number;
  // What of the sale this master holds: its home slot, shard indexes.
  holds: string;
  cpuSeconds: number;
  cores: number;
  // Share of the phase's Redis CPU over all masters.
  share: number;
  cpuUsPerReserve: number;
  scriptCalls: number;
  scriptCallsPerSecond: number;
  callsPerSecond: number;
};

type PhaseResult = {
  phase: string;
  shards: number;
  saleId: number;
  seconds: number;
  requests: number;
  byStatus: Record<string, number>;
  errors: number;
  reserves: number;
  reservesPerSecond: number;
  latencyMs: LoadResult['latency'];
  masters: MasterResult[];
  redisCpuSeconds: number;
  redisCpuUsPerReserve: number;
  // The busiest master's script calls per reserve: 1 at home for a sale without shards.
  busiest: { port: number; share: number; cores: number; scriptCallsPerReserve: number };
  // Reserves/s this phase would reach with its busiest master at one full core, the rest as
  // measured: the gate's ceiling for one sale on a cluster with a core per master. Redis's CPU
  // per call falls as its rate rises (more calls per wakeup), so this is a low estimate, and
  // the phases compare fairly only at similar rates; the calls per reserve do not move.
  reservesPerBusiestMasterCore: number;
  // Cores each process used (bench/cpu.ts; `redis` is every redis-server on the machine).
  processCores: Record<string, number>;
  check: {
    remaining: number;
    expected: number;
    inflight: number;
    // Over shards: the orders each shard's ledger holds (their sum should be the 202s).
    ledgers: number[] | null;
    ok: boolean;
  };
};

// Which master holds which part of the sale: its own slot ('home' without shards: every
// buyer's state is there), and each shard's (its units and the buyers homed on it).
async function placement(
  cluster: RedisCluster,
  prefix: string,
  saleId: number,
  shards: number,
): Promise<{ home: number; shardPorts: number[]; holds: Map<number, string[]> }> {
  const holds = new Map<number, string[]>();
  const add = (port: number, what: string) => holds.set(port, [...(holds.get(port) ?? []), what]);
  const home = (await cluster.masterOf(saleKeys(prefix, saleId).sale)).port;
  add(home, 'home');
  const shardPorts: number[] = [];
  for (let shard = 0; shards > 1 && shard < shards; shard++) {
    const port = (await cluster.masterOf(shardKeys(prefix, saleId, shard, shards).units)).port;
    shardPorts.push(port);
    add(port, `shard ${shard}`);
  }
  return { home, shardPorts, holds };
}

async function phase(
  name: string,
  shards: number,
  ctx: {
    apiUrl: string;
    adminToken: string;
    prefix: string;
    cluster: RedisCluster;
    masters: Master[];
    tokens: readonly string[];
    pids: () => Record<string, number | undefined>;
  },
): Promise<PhaseResult> {
  const { apiUrl, masters } = ctx;
  const saleId = await createShardedSale(apiUrl, ctx.adminToken, `hot-${shards}`, shards);
  const where = await placement(ctx.cluster, ctx.prefix, saleId, shards);
  log(
    `${name}: sale ${saleId}, ${shards} shard(s); home on :${where.home}` +
      (shards > 1 ? `; shards on ${where.shardPorts.map((p, i) => `${i}:${p}`).join(' ')}` : ''),
  );
  if (shards > 1 && new Set(where.shardPorts).size < Math.min(shards, masters.length)) {
    log(`  NOTE: the ${shards} shards are on ${new Set(where.shardPorts).size} masters only`);
  }
  const cpuBefore = sampleCpu(ctx.pids());
  const before = await Promise.all(masters.map((m) => sampleMaster(m.redis)));
  const started = performance.now();
  const result = await load({
    baseUrl: apiUrl,
    path: `/sales/${saleId}/purchase`,
    tokens: ctx.tokens,
    rotate: true,
    connections,
    amount: purchases,
  });
  const seconds = (performance.now() - started) / 1000;
  const after = await Promise.all(masters.map((m) => sampleMaster(m.redis)));
  const processCores = coresBetween(cpuBefore, sampleCpu(ctx.pids()));
  const reserves = result.byStatus['202'] ?? 0;
  const cpu = masters.map((_, i) => Math.max(0, after[i]!.cpuSeconds - before[i]!.cpuSeconds));
  const totalCpu = cpu.reduce((a, b) => a + b, 0);
  const perReserve = (s: number) => (reserves > 0 ? Number(((s * 1e6) / reserves).toFixed(1)) : 0);
  const masterResults: MasterResult[] = masters.map((m, i) => {
    const scriptCalls = after[i]!.scriptCalls - before[i]!.scriptCalls;
    return {
      port: m.server.port,
      holds: (where.holds.get(m.server.port) ?? []).join(', ') || '-',
      cpuSeconds: Number(cpu[i]!.toFixed(3)),
      cores: Number((cpu[i]! / seconds).toFixed(3)),
      share: totalCpu > 0 ? Number((cpu[i]! / totalCpu).toFixed(3)) : 0,
      cpuUsPerReserve: perReserve(cpu[i]!),
      scriptCalls,
      scriptCallsPerSecond: Math.round(scriptCalls / seconds),
      callsPerSecond: Math.round((after[i]!.calls - before[i]!.calls) / seconds),
    };
  });
  const busiest = masterResults.reduce((a, b) => (b.share > a.share ? b : a));

  // The answers: the sale's remaining as the API tells it, the reservations in flight at home,
  // and over shards every shard's ledger.
  const remaining = await remainingOf(apiUrl, saleId);
  const byPort = new Map(masters.map((m) => [m.server.port, m.redis]));
  const inflightPerHome = await Promise.all(
    shards > 1
      ? where.shardPorts.map((port, home) =>
          byPort.get(port)!.zcard(homeKeys(ctx.prefix, saleId, home, shards).inflight),
        )
      : [byPort.get(where.home)!.zcard(saleKeys(ctx.prefix, saleId).inflight)],
  );
  const inflight = inflightPerHome.reduce((a, b) => a + b, 0);
  const ledgers =
    shards > 1
      ? await Promise.all(
          where.shardPorts.map((port, shard) =>
            byPort.get(port)!.hlen(shardKeys(ctx.prefix, saleId, shard, shards).ledger),
          ),
        )
      : null;
  const expected = stock - reserves;
  const ok =
    remaining === expected &&
    inflight === reserves &&
    (ledgers === null || ledgers.reduce((a, b) => a + b, 0) === reserves);

  const phaseResult: PhaseResult = {
    phase: name,
    shards,
    saleId,
    seconds: Number(seconds.toFixed(3)),
    requests: result.requests,
    byStatus: result.byStatus,
    errors: result.errors,
    reserves,
    reservesPerSecond: Math.round(reserves / seconds),
    latencyMs: result.latency,
    masters: masterResults,
    redisCpuSeconds: Number(totalCpu.toFixed(3)),
    redisCpuUsPerReserve: perReserve(totalCpu),
    busiest: {
      port: busiest.port,
      share: busiest.share,
      cores: busiest.cores,
      scriptCallsPerReserve: reserves > 0 ? Number((busiest.scriptCalls / reserves).toFixed(2)) : 0,
    },
    reservesPerBusiestMasterCore:
      busiest.cores > 0 ? Math.round(reserves / seconds / busiest.cores) : 0,
    processCores,
    check: { remaining, expected, inflight, ledgers, ok },
  };

  const statuses = Object.entries(result.byStatus)
    .map(([status, count]) => `${status}: ${count}`)
    .join(', ');
  const { p50, p90, p99, max } = result.latency;
  log(
    `  ${reserves} reserves of ${result.requests} answers in ${seconds.toFixed(2)} s = ` +
      `${phaseResult.reservesPerSecond} 202/s; latency p50 ${p50} p90 ${p90} p99 ${p99} ` +
      `max ${max} ms`,
  );
  if (reserves !== purchases || result.errors > 0) {
    log(`  NOT ALL 202: ${statuses || 'no answers'}; ${result.errors} connection errors`);
  }
  for (const m of masterResults) {
    log(
      `  master :${m.port} (${m.holds}): ${m.cpuSeconds.toFixed(3)} s CPU = ${m.cores} cores, ` +
        `${(m.share * 100).toFixed(1)}% of the Redis CPU, ${m.cpuUsPerReserve} µs per reserve, ` +
        `${m.scriptCalls} script calls (${m.scriptCallsPerSecond}/s), ${m.callsPerSecond} calls/s`,
    );
  }
  log(
    `  Redis in all: ${phaseResult.redisCpuSeconds} s CPU, ${phaseResult.redisCpuUsPerReserve} µs ` +
      `per reserve; busiest master :${busiest.port} at ${(busiest.share * 100).toFixed(1)}% ` +
      `(${busiest.cores} cores) -> ${phaseResult.reservesPerBusiestMasterCore} reserves/s ` +
      `per core of it`,
  );
  log(
    `  process cores: ${Object.entries(processCores)
      .filter(([, cores]) => cores >= 0.01)
      .map(([process, cores]) => `${process} ${cores}`)
      .join(', ')}`,
  );
  const checkLine =
    `remaining ${remaining} (stock ${stock} - ${reserves} = ${expected}), ${inflight} in ` +
    `flight at home` +
    (ledgers ? `, ledgers ${ledgers.join('+')} = ${ledgers.reduce((a, b) => a + b, 0)}` : '');
  if (ok) log(`  check ok: ${checkLine}`);
  else log(`  !!! CHECK FAILED: ${checkLine}`);
  return phaseResult;
}

const ratio = (a: number, b: number) => (b > 0 ? Number((a / b).toFixed(2)) : null);

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
    // Each path warmed up on a sale of its own first, so neither phase pays the JIT.
    for (const shards of [1, masterCount]) {
      const saleId = await createShardedSale(
        apiUrl,
        env.config.auth.adminToken,
        `warm-${shards}`,
        shards,
      );
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
    const ctx = {
      apiUrl,
      adminToken: env.config.auth.adminToken,
      prefix: env.config.redis.prefix,
      cluster,
      masters,
      tokens,
      pids: () => Object.fromEntries(children.map((c) => [c.name, c.child.pid])),
    };
    const a = await phase('A (1 shard)', 1, ctx);
    const b = await phase(`B (${masterCount} shards)`, masterCount, ctx);

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
