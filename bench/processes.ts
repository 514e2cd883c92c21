import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, openSync } from 'node:fs';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test/support/api-process.js';
import { waitFor } from '../test/support/env.js';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

// Each process's log (warnings and up) goes to bench/results/logs/<name>.log.
function logFile(name: string): number {
  const dir = fileURLToPath(new URL('results/logs/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  return openSync(`${dir}${name}.log`, 'w');
}

export type Child = { name: string; port: number; child: ChildProcess; stop: () => Promise<void> };

const running = new Set<ChildProcess>();
let interrupted = false;

// Every process a bench started and that still runs, stopped (for an interrupted run). The
// script goes on until the process exits, so from here on it may start no other.
export async function stopEveryProcess(): Promise<void> {
  interrupted = true;
  await Promise.all(
    [...running]
      .filter((child) => child.exitCode === null && child.signalCode === null)
      .map((child) => {
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        return exited;
      }),
  );
}

export type SpawnOptions = {
  env: Record<string, string>;
  // PORT for the api, *_PORT for the others; /healthz answers there once ready.
  portVariable?: string;
  // Writes a V8 CPU profile of the process into this directory when it exits.
  cpuProfileDir?: string | undefined;
  args?: string[];
};

// The system's processes run as the Procfile runs them: compiled by `npm run build` (once per
// bench), from dist/. Through tsx, each function our code made per request also went through
// esbuild's __name wrapper (1.3 % of a poll's CPU), which the product never pays. The benches'
// own servers (bench/*.ts) still run through tsx: their hot paths are the libraries'.
let built: Promise<unknown> | undefined;
const builtEntry = async (entry: string): Promise<string[]> => {
  const command = /^src\/(cmd\/[\w-]+)\.ts$/.exec(entry);
  if (!command) return ['--import', 'tsx', entry];
  built ??= promisify(execFile)('npm', ['run', 'build'], { cwd: repoRoot });
  await built;
  return [`dist/${command[1]}.js`];
};

// One process of the system, as the Procfile runs it (node dist/cmd/<name>.js).
export async function spawnProcess(name: string, entry: string, options: SpawnOptions) {
  if (interrupted) throw new Error(`the run was interrupted: ${name} not started`);
  const script = await builtEntry(entry);
  const port = await freePort();
  // One directory per process: tsx's loader thread writes a profile of its own there too.
  const profile = options.cpuProfileDir
    ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}/${name}`]
    : [];
  const env = { ...process.env, ...options.env };
  if (options.portVariable) env[options.portVariable] = String(port);
  const child = spawn(
    process.execPath,
    [
      ...profile,
      ...(process.env.BENCH_NODE_FLAGS?.split(' ').filter(Boolean) ?? []),
      ...script,
      ...(options.args ?? [String(port)]),
    ],
    { cwd: repoRoot, env, stdio: ['ignore', logFile(name), 'inherit'] },
  );
  running.add(child);
  const exited = once(child, 'exit').finally(() => running.delete(child));
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`);
      return fetch(`http://127.0.0.1:${port}/healthz`, { method: 'GET' }).then(
        (r) => r.status < 500,
        () => false,
      );
    },
    { timeoutMs: 60_000, intervalMs: 100, what: `${name} to start` },
  );
  return {
    name,
    port,
    child,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  } satisfies Child;
}
