import { setTimeout as sleep } from 'node:timers/promises';
import os from 'node:os';
import pg from 'pg';
import type { createBenchEnv } from '../env.js';
import { spawnProcess, type Child } from '../processes.js';
import type { LoadResult } from '../load.js';
import { coresBetween, sampleCpu } from '../cpu.js';
import { soldOf } from '../../test/support/sales.js';

// What every measure of bench/run.ts is given: the plan, the environment, the processes
// started so far and the sales earlier measures created. A measure is one module of this
// folder: a function of the context that returns its part of the report.

export const quick = process.argv.includes('--quick');
export const profile = process.argv.includes('--profile');
export const plan = quick
  ? { seconds: 2, rawSeconds: 2, wrkWarmup: 1, selloutStock: 1_000, selloutBuyers: 10_000 }
  : { seconds: 10, rawSeconds: 5, wrkWarmup: 2, selloutStock: 10_000, selloutBuyers: 100_000 };
export const connections = 200;
// BENCH_API_PROCESSES=2 runs that many API processes (and as many bare servers for (a)),
// the load spread over them: one Node process uses one core at most.
export const apiProcesses = Math.max(1, Number(process.env.BENCH_API_PROCESSES ?? 1));

export const log = (message: string) => process.stdout.write(`[bench] ${message}\n`);

export type Bench = {
  env: Awaited<ReturnType<typeof createBenchEnv>>;
  db: pg.Pool;
  children: Child[];
  cpuProfileDir: string | undefined;
  tokens: string[];
  bareUrls: string[];
  apiUrls: string[];
  unlimitedUrl: string;
  // Cores each process used during a measure: where the machine's two cores went.
  cpu: Record<string, Record<string, number>>;
};

export const apiUrl = (bench: Bench) => bench.apiUrls[0]!;
export const bareTarget = (bench: Bench) =>
  bench.bareUrls.length === 1 ? bench.bareUrls[0]! : bench.bareUrls;
export const apiTarget = (bench: Bench) =>
  bench.apiUrls.length === 1 ? bench.apiUrls[0]! : bench.apiUrls;
export const flatOut = { connections, seconds: plan.seconds };

// Runs `run`, recording the cores each process used meanwhile under `name`.
export async function measured<T>(bench: Bench, name: string, run: () => Promise<T>) {
  const before = sampleCpu(pids(bench));
  const result = await run();
  bench.cpu[name] = coresBetween(before, sampleCpu(pids(bench)));
  return result;
}

export const pids = (bench: Bench) =>
  Object.fromEntries(bench.children.map((c) => [c.name, c.child.pid]));

// Starts a Flashline process of src/cmd/ for the rest of the run.
export async function start(
  bench: Bench,
  name: string,
  file: string,
  portVariable: string,
  profiled = true,
) {
  const child = await spawnProcess(name, file, {
    env: bench.env.env,
    portVariable,
    args: [],
    cpuProfileDir: profiled ? bench.cpuProfileDir : undefined,
  });
  bench.children.push(child);
  return child;
}

// The bare servers, the API processes and one API with admission off (for (h)).
export async function startFront(bench: Bench): Promise<void> {
  for (let i = 0; i < apiProcesses; i++) {
    const suffix = i === 0 ? '' : `-${i + 1}`;
    const bare = await spawnProcess(`bare${suffix}`, 'bench/bare-server.ts', {
      env: bench.env.env,
    });
    bench.children.push(bare);
    bench.bareUrls.push(`http://127.0.0.1:${bare.port}`);
    const api = await start(bench, `api${suffix}`, 'src/cmd/api.ts', 'PORT');
    bench.apiUrls.push(`http://127.0.0.1:${api.port}`);
  }
  // The same API with admission off, for the capacity of (h): see bench/overload.ts.
  const unlimited = await spawnProcess('api-unlimited', 'src/cmd/api.ts', {
    env: { ...bench.env.env, ADMISSION: 'off' },
    portVariable: 'PORT',
    args: [],
  });
  bench.children.push(unlimited);
  bench.unlimitedUrl = `http://127.0.0.1:${unlimited.port}`;
}

// Polls sales.sold until it reaches `target` (null while still unknown); returns when the
// count first reached its final value, and the rate from the first confirmed order to it.
export async function watchConfirmed(db: pg.Pool, saleId: number, target: () => number | null) {
  let firstAt: number | null = null;
  let firstSold = 0;
  let lastSold = -1;
  let reachedAt = 0;
  for (;;) {
    const sold = await soldOf(db, saleId);
    const now = performance.now();
    if (sold > 0 && firstAt === null) {
      firstAt = now;
      firstSold = sold;
    }
    if (sold > lastSold) {
      lastSold = sold;
      reachedAt = now;
    }
    const wanted = target();
    if (wanted !== null && sold >= wanted) {
      const seconds = firstAt === null ? 0 : (reachedAt - firstAt) / 1000;
      return { at: reachedAt, sold, perSecond: seconds > 0 ? (sold - firstSold) / seconds : 0 };
    }
    await sleep(20);
  }
}

export function summary(result: LoadResult, status: number) {
  return {
    perSecond: Math.round(result.rate(status)),
    answeredPerSecond: Math.round(result.rate()),
    byStatus: result.byStatus,
    errors: result.errors,
    latencyMs: result.latency,
  };
}

export function machine(loadBefore: number[]) {
  return {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    loadAverageBefore: loadBefore.map((x) => Math.round(x * 100) / 100),
    loadAverageAfter: os.loadavg().map((x) => Math.round(x * 100) / 100),
  };
}
