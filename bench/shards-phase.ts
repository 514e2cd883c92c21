import type { Redis } from 'ioredis';
import type { RedisCluster } from '../test/support/redis-cluster.js';
import type { RedisServer } from '../test/support/redis-servers.js';
import { homeKeys, saleKeys, shardKeys } from '../src/gate/keys.js';
import { load, type LoadResult } from './load.js';
import { sampleMaster } from './redis-stats.js';
import { coresBetween, sampleCpu } from './cpu.js';

// One phase of bench/shards.ts: a hot sale with `shards` shards bought flat out, each
// master's Redis CPU and script calls meanwhile, then a check that the answers add up.

const log = (message: string) => process.stdout.write(`[shards] ${message}\n`);

export type PhaseContext = {
  apiUrl: string;
  adminToken: string;
  prefix: string;
  cluster: RedisCluster;
  masters: Master[];
  tokens: readonly string[];
  pids: () => Record<string, number | undefined>;
  purchases: number;
  connections: number;
  stock: number;
};

// Opens a sale through the admin route with `shards` (bench/sale.ts sends no shards).
export async function createShardedSale(
  apiUrl: string,
  adminToken: string,
  sku: string,
  shards: number,
  stock: number,
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

export type Master = { server: RedisServer; redis: Redis };

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

export type PhaseResult = {
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

export async function phase(name: string, shards: number, ctx: PhaseContext): Promise<PhaseResult> {
  const { apiUrl, masters } = ctx;
  const saleId = await createShardedSale(
    apiUrl,
    ctx.adminToken,
    `hot-${shards}`,
    shards,
    ctx.stock,
  );
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
    connections: ctx.connections,
    amount: ctx.purchases,
  });
  const seconds = (performance.now() - started) / 1000;
  const after = await Promise.all(masters.map((m) => sampleMaster(m.redis)));
  const processCores = coresBetween(cpuBefore, sampleCpu(ctx.pids()));
  const reserves = result.byStatus['202'] ?? 0;
  const redis = masterResults(masters, before, after, { seconds, reserves, holds: where.holds });
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
    ...redis,
    processCores,
    check: await checkPhase(ctx, saleId, shards, where, reserves),
  };
  logPhase(phaseResult, result, ctx);
  return phaseResult;
}

type Sample = Awaited<ReturnType<typeof sampleMaster>>;

// Each master's share of the phase's Redis CPU and script calls, and the busiest one.
function masterResults(
  masters: Master[],
  before: Sample[],
  after: Sample[],
  { seconds, reserves, holds }: { seconds: number; reserves: number; holds: Map<number, string[]> },
) {
  const cpu = masters.map((_, i) => Math.max(0, after[i]!.cpuSeconds - before[i]!.cpuSeconds));
  const totalCpu = cpu.reduce((a, b) => a + b, 0);
  const perReserve = (s: number) => (reserves > 0 ? Number(((s * 1e6) / reserves).toFixed(1)) : 0);
  const results: MasterResult[] = masters.map((m, i) => {
    const scriptCalls = after[i]!.scriptCalls - before[i]!.scriptCalls;
    return {
      port: m.server.port,
      holds: (holds.get(m.server.port) ?? []).join(', ') || '-',
      cpuSeconds: Number(cpu[i]!.toFixed(3)),
      cores: Number((cpu[i]! / seconds).toFixed(3)),
      share: totalCpu > 0 ? Number((cpu[i]! / totalCpu).toFixed(3)) : 0,
      cpuUsPerReserve: perReserve(cpu[i]!),
      scriptCalls,
      scriptCallsPerSecond: Math.round(scriptCalls / seconds),
      callsPerSecond: Math.round((after[i]!.calls - before[i]!.calls) / seconds),
    };
  });
  const busiest = results.reduce((a, b) => (b.share > a.share ? b : a));
  return {
    masters: results,
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
  };
}

// The answers: the sale's remaining as the API tells it, the reservations in flight at home,
// and over shards every shard's ledger.
async function checkPhase(
  ctx: PhaseContext,
  saleId: number,
  shards: number,
  where: Awaited<ReturnType<typeof placement>>,
  reserves: number,
): Promise<PhaseResult['check']> {
  const remaining = await remainingOf(ctx.apiUrl, saleId);
  const byPort = new Map(ctx.masters.map((m) => [m.server.port, m.redis]));
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
  const expected = ctx.stock - reserves;
  const ok =
    remaining === expected &&
    inflight === reserves &&
    (ledgers === null || ledgers.reduce((a, b) => a + b, 0) === reserves);
  return { remaining, expected, inflight, ledgers, ok };
}

function logPhase(phaseResult: PhaseResult, result: LoadResult, ctx: PhaseContext) {
  const { reserves, busiest, processCores } = phaseResult;
  const statuses = Object.entries(result.byStatus)
    .map(([status, count]) => `${status}: ${count}`)
    .join(', ');
  const { p50, p90, p99, max } = result.latency;
  log(
    `  ${reserves} reserves of ${result.requests} answers in ${phaseResult.seconds.toFixed(2)} s = ` +
      `${phaseResult.reservesPerSecond} 202/s; latency p50 ${p50} p90 ${p90} p99 ${p99} ` +
      `max ${max} ms`,
  );
  if (reserves !== ctx.purchases || result.errors > 0) {
    log(`  NOT ALL 202: ${statuses || 'no answers'}; ${result.errors} connection errors`);
  }
  for (const m of phaseResult.masters) {
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
  const { remaining, expected, inflight, ledgers, ok } = phaseResult.check;
  const checkLine =
    `remaining ${remaining} (stock ${ctx.stock} - ${reserves} = ${expected}), ${inflight} in ` +
    `flight at home` +
    (ledgers ? `, ledgers ${ledgers.join('+')} = ${ledgers.reduce((a, b) => a + b, 0)}` : '');
  if (ok) log(`  check ok: ${checkLine}`);
  else log(`  !!! CHECK FAILED: ${checkLine}`);
}
