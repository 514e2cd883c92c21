// npx tsx bench/overload-only.ts [seconds=5]
// The overload measure (h) of `npm run bench`, alone, with the drain running: capacity flat out
// at 200 connections with admission off, the same with it on, that rate paced, then 3x it from
// 1,000 connections, latency by status; and the admission limit sampled during the 3x run.
// BENCH_ENV passes settings as in run.ts ('{"ADMISSION_CPU_MAX":"0.9"}' tries another rule).
import { createBenchEnv } from './env.js';
import { signBuyerToken } from '../src/auth/jwt.js';
import { spawnProcess, type Child } from './processes.js';
import { createSale } from './sale.js';
import { goodputBound, overloadMeasure } from './overload.js';
import { coresBetween, sampleCpu } from './cpu.js';

const seconds = Number(process.argv[2] ?? 5);
const log = (message: string) => process.stdout.write(`[overload] ${message}\n`);

const env = await createBenchEnv('overload');
const children: Child[] = [];
try {
  const spawn = async (name: string, entry: string, extra: Record<string, string> = {}) => {
    const portVariable = name.startsWith('api') ? 'PORT' : `${name.toUpperCase()}_PORT`;
    const child = await spawnProcess(name, entry, {
      env: { ...env.env, ...extra },
      portVariable,
      args: [],
    });
    children.push(child);
    return child;
  };
  const api = await spawn('api', 'src/cmd/api.ts');
  const unlimited = await spawn('api-unlimited', 'src/cmd/api.ts', { ADMISSION: 'off' });
  await spawn('worker', 'src/cmd/worker.ts');
  await spawn('bridge', 'src/cmd/bridge.ts');
  const apiUrl = `http://127.0.0.1:${api.port}`;
  const saleId = await createSale(
    apiUrl,
    env.config.auth.adminToken,
    'overload',
    10_000_000,
    1_000,
  );
  const tokens = Array.from({ length: 100_000 }, (_, i) =>
    signBuyerToken(`buyer-${i}`, env.config.jwt.secret),
  );
  const limits: number[] = [];
  const floors: number[] = [];
  const sampler = setInterval(() => {
    void fetch(`${apiUrl}/metrics`)
      .then((r) => r.text())
      .then((text) => {
        const match = /^flashline_admission_limit\{[^}]*\} (\S+)$/m.exec(text);
        const floor = /^flashline_admission_floor\{[^}]*\} (\S+)$/m.exec(text);
        if (floor) floors.push(Number(floor[1]));
        if (match) limits.push(Number(match[1]));
      })
      .catch(() => undefined);
  }, 250);
  const pids = () => Object.fromEntries(children.map((c) => [c.name, c.child.pid]));
  const before = sampleCpu(pids());
  const result = await overloadMeasure({
    unlimitedUrl: `http://127.0.0.1:${unlimited.port}`,
    baseUrl: apiUrl,
    path: `/sales/${saleId}/purchase`,
    tokens,
    seconds,
    sampleCpu: () => sampleCpu(pids()),
  });
  clearInterval(sampler);
  const changes = (await (await fetch(`${apiUrl}/metrics`)).text())
    .split('\n')
    .filter((line) => line.startsWith('flashline_admission_limit_changes_total{'));
  const cores = coresBetween(before, sampleCpu(pids()));
  const sorted = [...limits].sort((a, b) => a - b);
  log(JSON.stringify(result, null, 1));
  log(
    `limit over the whole run: min ${sorted[0]} / median ${sorted[Math.floor(sorted.length / 2)]} / max ${sorted.at(-1)}`,
  );
  log(`limit samples: ${limits.join(' ')}`);
  log(`floor samples: ${floors.join(' ')}`);
  log(`cores: ${JSON.stringify(cores)}`);
  log(`limit changes: ${changes.join('; ')}`);
  const o = result.overload;
  log(
    `goodput at 3x ${o.perSecond} / capacity ${result.capacity.perSecond} = ${(o.perSecond / result.capacity.perSecond).toFixed(2)}; ` +
      `p99 202 ${o.accepted.p99} vs ${result.capacity.accepted.p99} ms; p99 503 ${o.shed.p99} ms; ` +
      `shed paced at capacity ${result.atCapacity.shed}`,
  );
  log(`cores by run: ${JSON.stringify(result.cores)}`);
  log(`what the machine allows at 3x: ${JSON.stringify(goodputBound(result))}`);
  log(
    `after the first second at 3x: p99 202 ${o.steady.accepted.p99} ms (${o.steady.accepted.count}), ` +
      `p99 503 ${o.steady.shed.p99} ms (${o.steady.shed.count})`,
  );
  const probe = o.probe;
  if (probe) {
    log(
      `probe (one buyer, own process, every 20 ms) at 3x: 202 n=${probe[202].count} p50 ${probe[202].p50} p99 ${probe[202].p99} ms; ` +
        `503 n=${probe[503].count} p50 ${probe[503].p50} p99 ${probe[503].p99} max ${probe[503].max} ms; ` +
        `after its first second: 202 p99 ${probe.steady[202].p99}, 503 p99 ${probe.steady[503].p99} max ${probe.steady[503].max} ms; ` +
        `slow: ${JSON.stringify(probe.slow)}`,
    );
  }
} finally {
  for (const child of children.reverse()) await child.stop();
  await env.cleanup();
}
process.exit();
