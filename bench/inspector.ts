// What the profile benches share (bench/profile-join.ts, bench/profile-poll.ts): their
// arguments, their log, and the V8 sampling profiler of a process started with --inspect, over
// its DevTools socket, so that a phase of a bench is profiled alone. --profile needs Node 22 or
// later (the global WebSocket): run it on Node 24 (.ci/node-24), as CI's main leg does.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';

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
