// npm run bench [-- --quick] [-- --profile]
// Starts the system on the local services in a database, vhost and Redis prefix of its own,
// measures the ceilings and the system in one run, prints a table of ratios and writes
// bench/results/latest.json (quick runs: bench/results/quick.json). See bench/README.md.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { benchOverrides, createBenchEnv } from './env.js';
import { signBuyerToken } from '../src/auth/jwt.js';
import { spawnProcess, type Child } from './processes.js';
import { load, loadAtRate, type LoadResult } from './load.js';
import { rawConfirmedPublishes, rawSingleRowInserts } from './ceilings.js';
import { printReport, type Report } from './report.js';
import { quantilesBetween, scrapeBuckets } from './prom-histogram.js';
import { coresBetween, sampleCpu } from './cpu.js';
import { createSale } from './sale.js';
import { overloadMeasure } from './overload.js';
import { wrk, wrkAvailable, type WrkResult } from './wrk.js';
import { soldOf } from '../test/support/sales.js';

const quick = process.argv.includes('--quick');
const profile = process.argv.includes('--profile');
const plan = quick
  ? { seconds: 2, rawSeconds: 2, wrkWarmup: 1, selloutStock: 1_000, selloutBuyers: 10_000 }
  : { seconds: 10, rawSeconds: 5, wrkWarmup: 2, selloutStock: 10_000, selloutBuyers: 100_000 };
const connections = 200;
// BENCH_API_PROCESSES=2 runs that many API processes (and as many bare servers for (a)),
// the load spread over them: one Node process uses one core at most.
const apiProcesses = Math.max(1, Number(process.env.BENCH_API_PROCESSES ?? 1));
const resultsDir = fileURLToPath(new URL('results/', import.meta.url));

const log = (message: string) => process.stdout.write(`[bench] ${message}\n`);

// Polls sales.sold until it reaches `target` (null while still unknown); returns when the
// count first reached its final value, and the rate from the first confirmed order to it.
async function watchConfirmed(db: pg.Pool, saleId: number, target: () => number | null) {
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
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function main() {
  const startedAt = new Date();
  const loadBefore = os.loadavg();
  log(`${quick ? 'quick' : 'full'} run on ${os.cpus().length} cpus; preparing an isolated env`);
  const env = await createBenchEnv('bench');
  const cpuProfileDir = profile ? `${resultsDir}profiles` : undefined;
  const children: Child[] = [];
  const db = new pg.Pool({ connectionString: env.config.database.url, max: 2 });
  try {
    const bareUrls: string[] = [];
    const apiUrls: string[] = [];
    for (let i = 0; i < apiProcesses; i++) {
      const suffix = i === 0 ? '' : `-${i + 1}`;
      const bare = await spawnProcess(`bare${suffix}`, 'bench/bare-server.ts', { env: env.env });
      children.push(bare);
      bareUrls.push(`http://127.0.0.1:${bare.port}`);
      const api = await spawnProcess(`api${suffix}`, 'src/cmd/api.ts', {
        env: env.env,
        portVariable: 'PORT',
        args: [],
        cpuProfileDir,
      });
      children.push(api);
      apiUrls.push(`http://127.0.0.1:${api.port}`);
    }
    // The same API with admission off, for the capacity of (h): see bench/overload.ts.
    const unlimited = await spawnProcess('api-unlimited', 'src/cmd/api.ts', {
      env: { ...env.env, ADMISSION: 'off' },
      portVariable: 'PORT',
      args: [],
    });
    children.push(unlimited);
    const apiUrl = apiUrls[0]!;
    const bareUrl = bareUrls.length === 1 ? bareUrls[0]! : bareUrls;
    const apiTarget = apiUrls.length === 1 ? apiUrl : apiUrls;
    // Cores each process used during a measure: where the machine's two cores went.
    const cpu: Record<string, Record<string, number>> = {};
    const measured = async <T>(name: string, run: () => Promise<T>): Promise<T> => {
      const pids = () => Object.fromEntries(children.map((c) => [c.name, c.child.pid]));
      const before = sampleCpu(pids());
      const result = await run();
      cpu[name] = coresBetween(before, sampleCpu(pids()));
      return result;
    };
    const tokens = Array.from({ length: plan.selloutBuyers }, (_, i) =>
      signBuyerToken(`buyer-${i}`, env.config.jwt.secret),
    );
    const flatOut = { connections, seconds: plan.seconds };

    log('(a) bare Hono route, flat out');
    const bareFlat = await measured('(a)', () =>
      load({
        ...flatOut,
        baseUrl: bareUrl,
        path: '/sales/1/purchase',
        tokens,
        rotate: false,
      }),
    );
    log("(a') raw confirmed publishes through amqplib");
    const rawPublishes = await measured("(a')", () =>
      rawConfirmedPublishes(env.config.amqp.url, connections, plan.seconds),
    );

    log('(b) purchase accepted path, flat out (bridge and worker not started yet)');
    const bigSale = await createSale(
      apiUrl,
      env.config.auth.adminToken,
      'bench-accepted',
      10_000_000,
      1_000,
    );
    const accepted = await measured('(b)', () =>
      load({
        ...flatOut,
        baseUrl: apiTarget,
        path: `/sales/${bigSale}/purchase`,
        tokens,
        rotate: true,
      }),
    );
    const backlog = accepted.byStatus['202'] ?? 0;

    log(`(e) drain of the ${backlog} orders queued by (b), bridge and worker started now`);
    const worker = await spawnProcess('worker', 'src/cmd/worker.ts', {
      env: env.env,
      portVariable: 'WORKER_PORT',
      args: [],
      cpuProfileDir,
    });
    children.push(worker);
    const bridge = await spawnProcess('bridge', 'src/cmd/bridge.ts', {
      env: env.env,
      portVariable: 'BRIDGE_PORT',
      args: [],
    });
    children.push(bridge);
    const drain = await measured('(e)', () => watchConfirmed(db, bigSale, () => backlog));
    log('(e) raw single-row INSERTs through pg');
    const rawInserts = await rawSingleRowInserts(
      env.config.database.url,
      env.config.database.pgPoolMax,
      plan.rawSeconds,
    );

    log('(c) purchase sold-out path, flat out');
    const soldOutSale = await createSale(apiUrl, env.config.auth.adminToken, 'bench-sold-out', 1);
    const first = await load({
      baseUrl: apiTarget,
      path: `/sales/${soldOutSale}/purchase`,
      tokens,
      rotate: false,
      connections: 1,
      amount: 1,
    });
    if (first.byStatus['202'] !== 1) throw new Error('could not buy the only unit');
    const soldOut = await measured('(c)', () =>
      load({
        ...flatOut,
        baseUrl: apiTarget,
        path: `/sales/${soldOutSale}/purchase`,
        tokens,
        rotate: false,
      }),
    );

    log('(d) fixed offered rates');
    const fixed = (baseUrl: string | string[], path: string, rate: number, rotate: boolean) =>
      loadAtRate({ baseUrl, path, tokens, rotate }, rate, plan.seconds, connections);
    const bareAt10k = await fixed(bareUrl, '/sales/1/purchase', 10_000, false);
    const soldOutAt10k = await measured('(d) sold out @10k', () =>
      fixed(apiTarget, `/sales/${soldOutSale}/purchase`, 10_000, false),
    );
    const bareAt2k = await fixed(bareUrl, '/sales/1/purchase', 2_000, false);
    const confirmMetric = 'flashline_publish_confirm_duration_seconds';
    const confirmsBefore = await scrapeBuckets(`${apiUrl}/metrics`, confirmMetric);
    const acceptedAt2k = await measured('(d) accepted @2k', () =>
      fixed(apiTarget, `/sales/${bigSale}/purchase`, 2_000, true),
    );
    const [confirmP50, confirmP99] = quantilesBetween(
      confirmsBefore,
      await scrapeBuckets(`${apiUrl}/metrics`, confirmMetric),
      [0.5, 0.99],
    ).map((seconds) => (seconds === null ? null : seconds * 1000));
    log('(h) overload: capacity flat out (admission off, then on), paced, 3x from 1,000 conns');
    const overload = await measured('(h) 3x capacity', () =>
      overloadMeasure({
        unlimitedUrl: `http://127.0.0.1:${unlimited.port}`,
        baseUrl: apiTarget,
        path: `/sales/${bigSale}/purchase`,
        tokens,
        seconds: plan.seconds,
        sampleCpu: () => sampleCpu(Object.fromEntries(children.map((c) => [c.name, c.child.pid]))),
      }),
    );

    // wrk takes one URL: the first bare server and the first API process.
    let wrkResults: { bare: WrkResult; soldOut: WrkResult } | null = null;
    if (wrkAvailable()) {
      log('(g) wrk, 2 threads, 200 connections: bare route and sold-out path, after a warm-up');
      const authorization = `Bearer ${tokens[0]!}`;
      const wrkRun = async (url: string, pid: number | undefined, metricsUrl?: string) => {
        await wrk(url, { connections, seconds: plan.wrkWarmup, authorization });
        return wrk(url, { connections, seconds: plan.seconds, authorization, pid, metricsUrl });
      };
      const bareChild = children.find((c) => c.name === 'bare');
      const apiChild = children.find((c) => c.name === 'api');
      wrkResults = {
        bare: await wrkRun(`${bareUrls[0]!}/sales/1/purchase`, bareChild?.child.pid),
        soldOut: await wrkRun(
          `${apiUrl}/sales/${soldOutSale}/purchase`,
          apiChild?.child.pid,
          `${apiUrl}/metrics`,
        ),
      };
    } else {
      log('(g) skipped: wrk is not installed (Debian: apt-get install wrk)');
    }

    // (f) starts on a quiet system: every order accepted so far confirmed first.
    const acceptedSoFar = backlog + (acceptedAt2k.byStatus['202'] ?? 0) + overload.acceptedTotal;
    await watchConfirmed(db, bigSale, () => acceptedSoFar);

    log(`(f) sell-out of ${plan.selloutStock} units to ${plan.selloutBuyers} distinct buyers`);
    const selloutSale = await createSale(
      apiUrl,
      env.config.auth.adminToken,
      'bench-sellout',
      plan.selloutStock,
    );
    let acceptedCount = 0;
    let lastAcceptedAt = 0;
    let loadDone = false;
    const selloutStart = performance.now();
    const confirmed = watchConfirmed(db, selloutSale, () => (loadDone ? acceptedCount : null));
    const sellout = await measured('(f)', () =>
      load({
        baseUrl: apiTarget,
        path: `/sales/${selloutSale}/purchase`,
        tokens,
        rotate: true,
        connections,
        amount: plan.selloutBuyers,
        onResponse: (status) => {
          if (status !== 202) return;
          acceptedCount += 1;
          lastAcceptedAt = performance.now();
        },
      }),
    );
    loadDone = true;
    const allConfirmed = await confirmed;

    const report: Report = {
      date: startedAt.toISOString(),
      cpuCores: cpu,
      quick,
      settings: {
        ...benchOverrides,
        ...(apiProcesses > 1 ? { apiProcesses: String(apiProcesses) } : {}),
      },
      machine: {
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model ?? 'unknown',
        memoryGiB: Math.round(os.totalmem() / 2 ** 30),
        os: `${os.type()} ${os.release()}`,
        node: process.version,
        loadAverageBefore: loadBefore.map((x) => Math.round(x * 100) / 100),
        loadAverageAfter: os.loadavg().map((x) => Math.round(x * 100) / 100),
      },
      measures: {
        bareFlat: summary(bareFlat, 409),
        rawPublishesPerSecond: Math.round(rawPublishes),
        acceptedFlat: summary(accepted, 202),
        soldOutFlat: summary(soldOut, 409),
        drain: { orders: backlog, confirmedPerSecond: Math.round(drain.perSecond) },
        rawInsertsPerSecond: Math.round(rawInserts),
        bareAt2k: summary(bareAt2k, 409),
        acceptedAt2k: {
          ...summary(acceptedAt2k, 202),
          // The API's own histogram: time from publish to RabbitMQ's confirm, bucket bounds.
          publishConfirmMs: { p50AtMost: confirmP50 ?? null, p99AtMost: confirmP99 ?? null },
        },
        bareAt10k: summary(bareAt10k, 409),
        soldOutAt10k: summary(soldOutAt10k, 409),
        overload,
        wrk: wrkResults,
        sellout: {
          stock: plan.selloutStock,
          buyers: plan.selloutBuyers,
          accepted: acceptedCount,
          byStatus: sellout.byStatus,
          lastAcceptedMs: Math.round(lastAcceptedAt - selloutStart),
          allConfirmedMs: Math.round(allConfirmed.at - selloutStart),
          confirmedAfterLastAcceptedMs: Math.round(allConfirmed.at - lastAcceptedAt),
        },
      },
    };
    printReport(report, log);
    mkdirSync(resultsDir, { recursive: true });
    const file = `${resultsDir}${quick ? 'quick' : 'latest'}.json`;
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    log(`wrote ${file}`);
  } finally {
    for (const child of children.reverse()) await child.stop();
    await db.end();
    await env.cleanup();
  }
}

function summary(result: LoadResult, status: number) {
  return {
    perSecond: Math.round(result.rate(status)),
    answeredPerSecond: Math.round(result.rate()),
    byStatus: result.byStatus,
    errors: result.errors,
    latencyMs: result.latency,
  };
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
