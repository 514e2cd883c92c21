// npm run bench:events [-- orders] [-- --rounds=2]
// Order events (issue 25, item 7), in one run on the local services, in a database, vhost and
// Redis prefix of its own. Each round queues `orders` purchases (default 10,000) with no drain
// running, then drains them with the bridge and the worker: once with the outbox's triggers
// disabled and no events process (off), once with the triggers alone (outbox), once with them
// and the events process relaying to
// RabbitMQ and delivering webhooks to a receiver at nice 19 (events-sink-process.ts) (on). Prints the drain's orders/s on
// against off, and each event's lag from its status change to its arrival on RabbitMQ and at
// the webhook receiver (p50, p99), at the drain's full rate. Writes bench/results/events.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { waitFor } from '../test/support/env.js';
import { signBuyerToken } from '../src/auth/jwt.js';
import { createBenchEnv, benchOverrides } from './env.js';
import { spawnProcess, type Child } from './processes.js';
import { load } from './load.js';
import { createSale } from './sale.js';
import { quantiles } from './events-sinks.js';
import { startSinks } from './events-sink-client.js';
import { sampleCpu, type CpuSample } from './cpu.js';

const orders = Number(process.argv.find((arg) => /^\d+$/.test(arg)) ?? 10_000);
const rounds = Number(process.argv.find((a) => a.startsWith('--rounds='))?.slice(9) ?? 2);
// --profile: CPU profiles of the events process (one directory per round) in
// bench/results/profiles/events-<round>/ (npx tsx bench/profile-summary.ts <directory>).
const profileDir = process.argv.includes('--profile')
  ? fileURLToPath(new URL('results/profiles/', import.meta.url))
  : undefined;
const log = (message: string) => process.stdout.write(`[events] ${message}\n`);

const env = await createBenchEnv('events');
const db = new pg.Pool({ connectionString: env.config.database.url, max: 1 });
const sinks = await startSinks(env.config.amqp.url);
const children: Child[] = [];
type Mode = 'off' | 'outbox' | 'on';
type Run = { mode: Mode; orders: number; seconds: number; perSecond: number };
// CPU µs per order of the drain (bridge + worker) and of the events process, from /proc.
const results: (Run & {
  drainCpuUs: number;
  eventsCpuUs: number;
  sinksCpuUs: number;
})[] = [];
const lags: { webhook: number[]; broker: number[] } = { webhook: [], broker: [] };

const spawn = async (name: string, extra: Record<string, string> = {}, profile?: string) => {
  const child = await spawnProcess(name, `src/cmd/${name}.ts`, {
    env: { ...env.env, ...extra },
    cpuProfileDir: profile,
    portVariable: name === 'api' ? 'PORT' : `${name.toUpperCase()}_PORT`,
    args: [],
  });
  children.push(child);
  return child;
};
const sold = async (saleId: number) =>
  Number((await db.query('SELECT sold FROM sales WHERE id = $1', [saleId])).rows[0].sold);
const until = (what: string, done: () => Promise<boolean>) =>
  waitFor(done, { timeoutMs: 900_000, intervalMs: 20, what });
const triggers = (on: boolean) =>
  db.query(
    `ALTER TABLE orders ${on ? 'ENABLE' : 'DISABLE'} TRIGGER order_events_on_insert;
     ALTER TABLE orders ${on ? 'ENABLE' : 'DISABLE'} TRIGGER order_events_on_update`,
  );

// CPU µs per order of the processes `names` between two samples.
const cpuPer = (orders: number, a: CpuSample, b: CpuSample, names: string[]) =>
  Math.round(
    (names.reduce((sum, n) => sum + (b.seconds[n] ?? 0) - (a.seconds[n] ?? 0), 0) * 1e6) / orders,
  );

async function round(api: Child, index: number, mode: Mode) {
  const baseUrl = `http://127.0.0.1:${api.port}`;
  const saleId = await createSale(
    baseUrl,
    env.config.auth.adminToken,
    `ev-${index}`,
    orders,
    1_000,
  );
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
  const backlog = queued.byStatus['202'] ?? 0;
  await triggers(mode !== 'off');
  await sinks.reset();
  const events =
    mode === 'on'
      ? await spawn(
          'events',
          { EVENTS_WEBHOOK_URL: sinks.url },
          profileDir && `${profileDir}events-${index}`,
        )
      : null;
  const worker = await spawn('worker');
  const bridge = await spawn('bridge');
  const pids = {
    worker: worker.child.pid,
    bridge: bridge.child.pid,
    events: events?.child.pid,
    sinks: sinks.pid,
  };
  const cpu = (a: CpuSample, b: CpuSample, ...names: string[]) => cpuPer(backlog, a, b, names);
  const before = sampleCpu(pids);
  const started = Date.now();
  await until('the drain', async () => (await sold(saleId)) >= backlog);
  const seconds = (Date.now() - started) / 1000;
  const drained = sampleCpu(pids);
  // The sinks' CPU per order over the drain (the webhook receiver and the RabbitMQ consumer, a
  // shop's systems, here on the same cores at nice 19: bench/events-sink-process.ts).
  const sinksCpuUs = cpu(before, drained, 'sinks');
  log(
    `${mode}: ${backlog} orders drained in ${seconds.toFixed(2)} s = ${Math.round(backlog / seconds)}/s, drain CPU ${cpu(before, drained, 'worker', 'bridge')} µs per order, the bench's sinks ${sinksCpuUs}`,
  );
  results.push({
    mode,
    orders: backlog,
    seconds,
    perSecond: backlog / seconds,
    drainCpuUs: cpu(before, drained, 'worker', 'bridge'),
    eventsCpuUs: 0,
    sinksCpuUs,
  });
  for (const child of [bridge, worker]) await child.stop();
  // The outbox's rows alone: what the relay would read, marked so the next round starts clean.
  if (mode === 'outbox') await db.query('UPDATE order_events SET published_at = now()');
  if (events) {
    await until('every event delivered', async () => (await sinks.count()).webhook >= backlog);
    await until('every event on RabbitMQ', async () => (await sinks.count()).broker >= backlog);
    results.at(-1)!.eventsCpuUs = cpu(before, sampleCpu(pids), 'events');
    log(`  events process CPU ${results.at(-1)!.eventsCpuUs} µs per order`);
    const seen = await sinks.lags();
    lags.webhook.push(...seen.webhook);
    lags.broker.push(...seen.broker);
    const w = quantiles(seen.webhook);
    log(
      `  lag to the webhook p50 ${w.p50} ms, p99 ${w.p99} ms; to RabbitMQ p50 ${quantiles(seen.broker).p50} ms`,
    );
    await events.stop();
  }
}

try {
  const api = await spawn('api');
  // Off, the outbox's triggers alone, then on, and the next round backwards (on, outbox, off):
  // the machine's load drifts over a run, and a fixed order would give the drift to one mode.
  const modes: Mode[] = ['off', 'outbox', 'on'];
  for (let i = 0; i < rounds * modes.length; i++) {
    const inRound = i % modes.length;
    const reversed = Math.floor(i / modes.length) % 2 === 1;
    await round(api, i, modes[reversed ? modes.length - 1 - inRound : inRound]!);
  }
  const mean = (mode: Mode) => {
    const of = results.filter((r) => r.mode === mode);
    return of.reduce((sum, r) => sum + r.perSecond, 0) / of.length;
  };
  const ratio = mean('on') / mean('off');
  const summary = {
    at: new Date().toISOString(),
    orders,
    rounds,
    load: os.loadavg(),
    cpus: os.cpus().length,
    env: benchOverrides,
    drain: {
      offPerSecond: mean('off'),
      outboxPerSecond: mean('outbox'),
      onPerSecond: mean('on'),
      outboxRatio: mean('outbox') / mean('off'),
      ratio,
      target: 0.9,
    },
    lagMs: { webhook: quantiles(lags.webhook), rabbitmq: quantiles(lags.broker) },
    runs: results,
  };
  log(`drain with events on / off: ${ratio.toFixed(2)}x (target >= 0.9x)`);
  log(`drain with the outbox's triggers alone / off: ${summary.drain.outboxRatio.toFixed(2)}x`);
  log(`event lag, change to webhook: ${JSON.stringify(summary.lagMs.webhook)}`);
  log(`event lag, change to RabbitMQ: ${JSON.stringify(summary.lagMs.rabbitmq)}`);
  const dir = fileURLToPath(new URL('results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}events.json`, `${JSON.stringify(summary, null, 2)}\n`);
} finally {
  for (const child of children.reverse()) await child.stop();
  await sinks.close();
  await db.end();
  await env.cleanup();
}
process.exit();
