// npx tsx bench/steady.ts [rate=2000] [seconds=10] [--no-drain] [--sold-out]
// The accepted path at a fixed offered rate with the pipeline draining behind it (the measure
// (d) of `npm run bench`, alone), against the bare route at the same rate: latency, the API's
// publish-confirm time, the cores each process used and Redis's command time per order.
// --no-drain leaves the orders in RabbitMQ: the API's own latency without the drain beside it.
// --sold-out measures the sold-out path instead (the (d) measure at 10,000/s: give the rate).
// BENCH_ENV passes settings as in run.ts: '{"DRAIN_NICE":"0"}' runs the bridge and the worker
// at the API's CPU priority instead of the default lower one.
import { Redis } from 'ioredis';
import { createBenchEnv } from './env.js';
import { signBuyerToken } from '../src/auth/jwt.js';
import { spawnProcess, type Child } from './processes.js';
import { load, loadAtRate, type Latency } from './load.js';
import { coresBetween, sampleCpu } from './cpu.js';
import { quantilesBetween, scrapeBuckets } from './prom-histogram.js';
import { createSale } from './sale.js';
import { commandStats, isScript } from './redis-stats.js';

const [rate = 2_000, seconds = 10] = process.argv
  .slice(2)
  .filter((arg) => !arg.startsWith('--'))
  .map(Number);
const soldOut = process.argv.includes('--sold-out');
const drain = !process.argv.includes('--no-drain') && !soldOut;
const path = soldOut ? 'sold out' : 'accepted';
const log = (message: string) => process.stdout.write(`[steady] ${message}\n`);

// Microseconds the Redis server has spent in Lua scripts (ours and BullMQ's, the bulk of
// its work here; a script's time includes the commands it runs).
async function redisScriptUs(url: string): Promise<number> {
  const redis = new Redis(url);
  const stats = await commandStats(redis);
  redis.disconnect();
  let total = 0;
  for (const [command, { usec }] of stats) if (isScript(command)) total += usec;
  return total;
}

const fmt = (l: Latency) => `${l.p50} / ${l.p90} / ${l.p99} ms`;

async function main() {
  const env = await createBenchEnv('steady');
  const children: Child[] = [];
  try {
    const spawn = async (name: string, entry: string, portVariable?: string) => {
      const child = await spawnProcess(name, entry, {
        env: env.env,
        ...(portVariable ? { portVariable, args: [] } : {}),
      });
      children.push(child);
      return child;
    };
    const bareUrl = `http://127.0.0.1:${(await spawn('bare', 'bench/bare-server.ts')).port}`;
    const apiUrl = `http://127.0.0.1:${(await spawn('api', 'src/cmd/api.ts', 'PORT')).port}`;
    if (drain) {
      await spawn('worker', 'src/cmd/worker.ts', 'WORKER_PORT');
      await spawn('bridge', 'src/cmd/bridge.ts', 'BRIDGE_PORT');
    }
    const sale = await createSale(
      apiUrl,
      env.config.auth.adminToken,
      'steady',
      soldOut ? 1 : 10_000_000,
    );
    const tokens = Array.from({ length: rate * seconds * 2 }, (_, i) =>
      signBuyerToken(`buyer-${i}`, env.config.jwt.secret),
    );
    const fixed = (baseUrl: string, path: string, rotate: boolean) =>
      loadAtRate({ baseUrl, path, tokens, rotate }, rate, seconds);

    // Unmeasured: the processes' code gets compiled (JIT) before it is timed, as in run.ts,
    // where (d) comes after the flat-out measures.
    log('warming up');
    const warmupTokens = Array.from({ length: 30_000 }, (_, i) =>
      signBuyerToken(`warmup-${i}`, env.config.jwt.secret),
    );
    const warmup = { tokens: warmupTokens, connections: 50, amount: warmupTokens.length };
    await load({ ...warmup, baseUrl: apiUrl, path: `/sales/${sale}/purchase`, rotate: true });
    await load({ ...warmup, baseUrl: bareUrl, path: '/sales/1/purchase', rotate: false });
    log(`bare route @ ${rate}/s for ${seconds} s`);
    const bare = await fixed(bareUrl, '/sales/1/purchase', false);
    log(`${path} path @ ${rate}/s for ${seconds} s${drain ? ', bridge and worker draining' : ''}`);
    const metric = 'flashline_publish_confirm_duration_seconds';
    const bucketsBefore = await scrapeBuckets(`${apiUrl}/metrics`, metric);
    const redisBefore = await redisScriptUs(env.config.redis.url);
    const pids = Object.fromEntries(children.map((c) => [c.name, c.child.pid]));
    const cpuBefore = sampleCpu(pids);
    // As in run.ts: sold out with one token per connection, accepted with a new buyer each time.
    const measured = await fixed(apiUrl, `/sales/${sale}/purchase`, !soldOut);
    const cores = coresBetween(cpuBefore, sampleCpu(pids));
    const redisUs = (await redisScriptUs(env.config.redis.url)) - redisBefore;
    const [confirmP50, confirmP99] = quantilesBetween(
      bucketsBefore,
      await scrapeBuckets(`${apiUrl}/metrics`, metric),
      [0.5, 0.99],
    ).map((s) => (s === null ? '?' : String(s * 1000)));
    const orders = measured.byStatus['202'] ?? 0;

    log(`bare      ${Math.round(bare.rate())}/s, p50 / p90 / p99 ${fmt(bare.latency)}`);
    log(
      `${path.padEnd(9)} ${Math.round(measured.rate())}/s, p50 / p90 / p99 ${fmt(measured.latency)}, ` +
        `statuses ${JSON.stringify(measured.byStatus)}`,
    );
    log(
      `p99 ${path} / bare ${(measured.latency.p99 / Math.max(1, bare.latency.p99)).toFixed(1)}x; ` +
        `publish confirm p50 <= ${confirmP50} ms, p99 <= ${confirmP99} ms`,
    );
    log(`redis scripts ${(redisUs / Math.max(1, orders)).toFixed(0)} us per order (whole server)`);
    log(`cores ${JSON.stringify(cores)}`);
  } finally {
    await Promise.allSettled(children.map((c) => c.stop()));
    await env.cleanup();
  }
}

await main();
