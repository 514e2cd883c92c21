// What the profile benches share (bench/profile-join.ts, bench/profile-poll.ts): their
// arguments, their log, and the V8 sampling profiler of a process started with --inspect, over
// its DevTools socket, so that a phase of a bench is profiled alone. --profile needs Node 22 or
// later (the global WebSocket): run it on Node 24 (.ci/node-24), as CI's main leg does.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import type { createBenchEnv } from './env.js';
import { spawnProcess, type Child, type SpawnOptions } from './processes.js';
import { freePort } from '../test/support/api-process.js';

// The numbers given on the command line (flags left out), and whether --profile was.
export const benchArgs = () => ({
  numbers: process.argv
    .slice(2)
    .filter((a) => !a.startsWith('--'))
    .map(Number),
  profiled: process.argv.includes('--profile'),
});
export const log = (message: string) => process.stdout.write(`${message}\n`);
export const loadAverage = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ');

// Writes a profile to bench/results/profiles/<name>.cpuprofile and prints its summary.
export function saveProfile(name: string, profile: unknown, top: number): void {
  const dir = fileURLToPath(new URL('results/profiles/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const file = `${dir}${name}.cpuprofile`;
  writeFileSync(file, JSON.stringify(profile));
  execFileSync('npx', ['tsx', 'bench/profile-summary.ts', file, String(top)], { stdio: 'inherit' });
}

// Starts V8's sampling profiler in the process whose inspector listens on `port`; the
// function returned stops it and gives the profile (the format of --cpu-prof).
export async function startProfiler(port: number): Promise<() => Promise<unknown>> {
  const [target] = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as {
    webSocketDebuggerUrl: string;
  }[];
  const socket = new WebSocket(target!.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = reject;
  });
  const pending = new Map<number, (result: unknown) => void>();
  socket.onmessage = (event) => {
    const message = JSON.parse(String(event.data)) as { id?: number; result?: unknown };
    if (message.id !== undefined) pending.get(message.id)?.(message.result);
  };
  let nextId = 0;
  const call = (method: string, params: object = {}) =>
    new Promise<unknown>((resolve) => {
      const id = ++nextId;
      pending.set(id, resolve);
      socket.send(JSON.stringify({ id, method, params }));
    });
  await call('Profiler.enable');
  await call('Profiler.setSamplingInterval', { interval: 200 });
  await call('Profiler.start');
  return async () => {
    const { profile } = (await call('Profiler.stop')) as { profile: unknown };
    socket.close();
    return profile;
  };
}

type BenchEnv = Awaited<ReturnType<typeof createBenchEnv>>;
type Served = { child: Child; url: string; inspectPort: number | null };

// A process of the bench, its inspector open on a free port when `inspected`.
async function serve(name: string, entry: string, options: SpawnOptions, inspected: boolean) {
  const inspectPort = inspected ? await freePort() : null;
  // spawnProcess passes this process's BENCH_NODE_FLAGS on to the process it starts.
  if (inspectPort) process.env.BENCH_NODE_FLAGS = `--inspect=127.0.0.1:${inspectPort}`;
  try {
    const child = await spawnProcess(name, entry, options);
    return { child, url: `http://127.0.0.1:${child.port}`, inspectPort };
  } finally {
    delete process.env.BENCH_NODE_FLAGS;
  }
}

// The profile benches' two servers on `env`: the bare route (bench/bare-server.ts) and one API
// process; each is pushed on `children` as soon as it runs, for the caller to stop.
export async function bareAndApi(
  env: BenchEnv,
  children: Child[],
  inspect: { bare: boolean; api: boolean },
): Promise<{ bare: Served; api: Served }> {
  const bare = await serve('bare', 'bench/bare-server.ts', { env: env.env }, inspect.bare);
  children.push(bare.child);
  const apiOptions = { env: env.env, portVariable: 'PORT', args: [] };
  const api = await serve('api', 'src/cmd/api.ts', apiOptions, inspect.api);
  children.push(api.child);
  return { bare, api };
}

// A sale of 1,000 units with a waiting room open now, starting in an hour; its id.
export async function createRoomSale(env: BenchEnv, apiUrl: string, sku: string) {
  const created = await fetch(`${apiUrl}/admin/sales`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${env.config.auth.adminToken}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({
      sku,
      name: sku,
      stock: 1_000,
      perUserLimit: 1,
      startsAt: new Date(Date.now() + 3_600_000).toISOString(),
      waitingRoom: { opensAt: new Date().toISOString(), passSeconds: 300, idleSeconds: 600 },
    }),
  });
  if (created.status !== 201) throw new Error(`create room sale: ${created.status}`);
  return ((await created.json()) as { id: number }).id;
}
