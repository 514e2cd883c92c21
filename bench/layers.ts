// npx tsx bench/layers.ts [seconds] [api]   (`api`: only the whole API, for an A/B of two trees)
// Where the CPU of a sold-out answer goes: bench/layers-server.ts adds the API's layers one
// at a time, and each level is loaded flat out (100 connections) while its server's own CPU
// time is measured. Prints microseconds of CPU per answer, which the shared machine's noise
// moves far less than requests per second.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { freePort } from '../test/support/api-process.js';
import { waitFor } from '../test/support/env.js';
import { createBenchEnv } from './env.js';
import { spawnProcess } from './processes.js';
import { signBuyerToken } from '../src/auth/jwt.js';
import { load } from './load.js';
import { createSale } from './sale.js';

const seconds = Number(process.argv[2] ?? 4);
const tokens = Array.from({ length: 100 }, (_, i) =>
  signBuyerToken(`b${i}`, 'flashline-dev-secret'),
);
type Cpu = { user: number; system: number };
// The levels of bench/layers-server.ts, in order.
const layers = [
  'bare route',
  '+ edge (request id, secure headers, body limit)',
  '+ metrics',
  '+ JWT (one token per connection)',
  '+ path, query, header, body checks',
];

const apiOnly = process.argv[3] === 'api';
for (const [level, name] of apiOnly ? [] : layers.entries()) {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'bench/layers-server.ts', String(level), String(port)],
    { stdio: 'inherit' },
  );
  const baseUrl = `http://127.0.0.1:${port}`;
  const cpu = async () => (await (await fetch(`${baseUrl}/__cpu`)).json()) as Cpu;
  await waitFor(
    () =>
      cpu().then(
        () => true,
        () => false,
      ),
    { timeoutMs: 30_000 },
  );
  const spec = { baseUrl, path: '/sales/1/purchase', tokens, rotate: false, connections: 100 };
  await load({ ...spec, seconds: 1 });
  const before = await cpu();
  const result = await load({ ...spec, seconds });
  const after = await cpu();
  const micros = (after.user + after.system - before.user - before.system) / result.requests;
  process.stdout.write(
    `${name.padEnd(42)} ${micros.toFixed(0).padStart(5)} us CPU/answer  ${String(Math.round(result.rate())).padStart(6)}/s\n`,
  );
  child.kill('SIGTERM');
  await once(child, 'exit');
}

// The whole API (src/cmd/api.ts) on a sold-out sale, its CPU read from its own /metrics.
const env = await createBenchEnv('layers');
const api = await spawnProcess('api', 'src/cmd/api.ts', {
  env: env.env,
  portVariable: 'PORT',
  args: [],
});
try {
  const baseUrl = `http://127.0.0.1:${api.port}`;
  const saleId = await createSale(baseUrl, env.config.auth.adminToken, 'layers', 1);
  const apiTokens = tokens.map((_, i) => signBuyerToken(`b${i}`, env.config.jwt.secret));
  const spec = { baseUrl, path: `/sales/${saleId}/purchase`, tokens: apiTokens, rotate: false };
  await load({ ...spec, connections: 1, amount: 1 });
  await load({ ...spec, connections: 100, seconds: 1 });
  const cpu = async () => {
    const text = await (await fetch(`${baseUrl}/metrics`)).text();
    const seconds = (name: string) =>
      Number(new RegExp(`^${name}\\{[^}]*\\} (\\S+)`, 'm').exec(text)?.[1]);
    return seconds('process_cpu_user_seconds_total') + seconds('process_cpu_system_seconds_total');
  };
  const before = await cpu();
  const result = await load({ ...spec, connections: 100, seconds });
  const micros = (((await cpu()) - before) * 1e6) / result.requests;
  process.stdout.write(
    `${'the API itself (src/cmd/api.ts), sold out'.padEnd(42)} ${micros.toFixed(0).padStart(5)} us CPU/answer  ${String(Math.round(result.rate())).padStart(6)}/s  ${JSON.stringify(result.byStatus)}\n`,
  );
} finally {
  await api.stop();
  await env.cleanup();
}
process.exit();
