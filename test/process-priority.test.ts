import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { getPriority } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from './support/env.js';
import { killAll, spawnProcess } from './support/processes.js';

// The niceness of every thread of a running process (Linux keeps one per thread).
const threadNiceness = (pid: number) =>
  readdirSync(`/proc/${pid}/task`).map((thread) => getPriority(Number(thread)));

describe('CPU priority of the drain processes', () => {
  let env: TestEnv;
  // This runner's own niceness: what a process it starts inherits.
  const inherited = getPriority(0);

  beforeAll(async () => {
    env = await createTestEnv('priority');
  });
  afterAll(async () => {
    await killAll();
    await env?.cleanup();
  });

  it('runs the bridge, the worker and the compensator at DRAIN_NICE, every thread; the API as started', async () => {
    const drainNice = Math.max(inherited, 7);
    const processes = ['api', 'bridge', 'worker', 'compensator'].map((name) =>
      spawnProcess(name, env, { DRAIN_NICE: String(drainNice) }),
    );
    await Promise.all(processes.map((child) => child.ready));
    for (const child of processes) {
      const expected = child.name === 'api' ? inherited : drainNice;
      const threads = threadNiceness(child.process.pid!);
      expect(threads.length, `${child.name} threads`).toBeGreaterThan(1);
      expect(new Set(threads), `${child.name} thread niceness`).toEqual(new Set([expected]));
      expect(child.logged('ready'), child.name).toMatchObject({ nice: expected });
    }
    // Each must still stop cleanly at its lower priority; afterAll's killAll is the safety net.
    for (const child of processes) child.kill('SIGTERM');
    for (const child of processes) {
      expect(await child.exited, child.name).toEqual({ code: 0, signal: null });
    }
  });

  it('never raises the priority of a process started nicer than DRAIN_NICE', () => {
    const script =
      "import { lowerPriority } from './src/cmd/process-priority.ts';" +
      'process.stdout.write(String(lowerPriority(5)));';
    const run = (niceness: number) =>
      Number(
        execFileSync(
          'nice',
          [
            '-n',
            String(niceness),
            process.execPath,
            '--import',
            'tsx',
            '--input-type=module',
            '-e',
            script,
          ],
          { encoding: 'utf8' },
        ),
      );
    expect(run(12 - inherited)).toBe(Math.max(12, 5));
    expect(run(0)).toBe(Math.max(inherited, 5));
  });
});
