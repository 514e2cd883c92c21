import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { TestEnv } from './env.js';
import { waitFor } from './env.js';
import { freePortIn } from './local-servers.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export type ApiProcess = {
  baseUrl: string;
  child: ChildProcess;
  // Sum of every sample of a counter in the process's /metrics, across label sets.
  metric: (name: string, labels?: Record<string, string>) => Promise<number>;
  stop: () => Promise<void>;
};

// A port below the kernel's ephemeral range (32768+), as rabbit-cluster.ts's nodes take: one
// the OS handed out for listen(0) was free only until an outgoing connection of a test running
// alongside took it as its own, and the API spawned on it failed with EADDRINUSE (seen once in
// test/room/processes.test.ts). The RabbitMQ nodes' ports are 20000 and up.
const taken = new Set<number>();
export const freePort = (): Promise<number> => freePortIn(taken, { from: 10_000, span: 10_000 });

// The API as its own process (the Procfile's command), on a port of its own.
export async function spawnApi(env: TestEnv, extra: Record<string, string> = {}) {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cmd/api.ts'], {
    cwd: repoRoot,
    env: { ...process.env, ...env.env, ...extra, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const exited = once(child, 'exit');
  const baseUrl = `http://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`api exited with ${child.exitCode}`);
      return fetch(`${baseUrl}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
    },
    { timeoutMs: 60_000, intervalMs: 100, what: `api on port ${port}` },
  );
  const api: ApiProcess = {
    baseUrl,
    child,
    metric: async (name, labels = {}) => {
      const text = await (await fetch(`${baseUrl}/metrics`)).text();
      const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
      return text
        .split('\n')
        .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
        .filter((line) => wanted.every((label) => line.includes(label)))
        .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
    },
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
  return api;
}
