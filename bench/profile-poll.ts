// npx tsx bench/profile-poll.ts [buyers] [seconds] [rounds] [--profile]
// The waiting room's poll against the bare route (bench/bare-server.ts), by CPU per answer:
// `buyers` join a room before its start, then the bare route's GET and the room's poll (each
// place with its ticket) are loaded flat out in turn, `rounds` times, and each server's own
// CPU (/proc/<pid>/stat) is divided by the answers it gave. With --profile the API runs with
// their inspectors open and the rounds alone are profiled (the joins and the start are not),
// written to bench/results/profiles/{bare,poll}.cpuprofile and summarised (profile-summary.ts).
import { createBenchEnv } from './env.js';
import { signBuyerToken } from '../src/auth/jwt.js';
import type { Child } from './processes.js';
import { roomLoad } from './waiting-room-load.js';
import { readFileSync } from 'node:fs';
import { cpuSecondsOf } from './cpu.js';
import {
  bareAndApi,
  benchArgs,
  createRoomSale,
  loadAverage,
  log,
  saveProfile,
  startProfiler,
} from './inspector.js';

const { numbers, profiled } = benchArgs();
const [buyers = 12_000, seconds = 5, rounds = 3] = numbers;
const load = loadAverage;
// The API's resident memory: a line of a million is remembered verified in every process
// (docs/waiting-room.md, "Memory").
const rssMbOf = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

const env = await createBenchEnv('profilepoll');
const children: Child[] = [];
try {
  const servers = await bareAndApi(env, children, { bare: profiled, api: profiled });
  const { bare, api } = { bare: servers.bare.child, api: servers.api.child };
  const apiUrl = servers.api.url;
  const bareUrl = servers.bare.url;
  const saleId = await createRoomSale(env, apiUrl, 'poll');
  const tokens = Array.from({ length: buyers }, (_, i) =>
    signBuyerToken(`poll-buyer-${i}`, env.config.jwt.secret),
  );
  const auth = (i: number) => ({ authorization: `Bearer ${tokens[i % buyers]}` });
  const tickets: string[] = [];
  const path = `/sales/${saleId}/queue`;
  await roomLoad({
    baseUrl: apiUrl,
    path,
    method: 'POST',
    connections: 100,
    amount: buyers,
    headers: auth,
    onBody: (i, status, body) => {
      if (status === 200 && i >= 0) tickets[i] = (JSON.parse(body) as { ticket: string }).ticket;
    },
  });
  log(
    `${tickets.filter(Boolean).length} of ${buyers} joined; API RSS ${rssMbOf(api.child.pid!).toFixed(0)} MB; load ${load()}`,
  );
  const measure = async (name: string, child: Child, url: string) => {
    const pid = child.child.pid!;
    const before = cpuSecondsOf([pid]);
    const result = await roomLoad({
      baseUrl: url,
      path: url === bareUrl ? '/sales/1/queue' : path,
      method: 'GET',
      connections: 200,
      seconds,
      headers: (i) => ({ ...auth(i), 'x-queue-ticket': tickets[i % buyers] ?? '' }),
    });
    const answers = Object.values(result.byStatus).reduce((a, b) => a + b, 0);
    const us = ((cpuSecondsOf([pid]) - before) * 1e6) / Math.max(1, answers);
    log(
      `${name.padEnd(5)} ${us.toFixed(0).padStart(4)} us CPU/answer ${String(result.perSecond).padStart(6)}/s ${JSON.stringify(result.byStatus)} load ${load()}`,
    );
    return us;
  };
  const inspectPorts = [servers.bare.inspectPort, servers.api.inspectPort];
  const profilers = await Promise.all(
    inspectPorts.map((port) => (port === null ? null : startProfiler(port))),
  );
  const sums = { bare: 0, poll: 0 };
  for (let round = 0; round < rounds; round++) {
    sums.bare += await measure('bare', bare, bareUrl);
    sums.poll += await measure('poll', api, apiUrl);
  }
  log(
    `mean: bare ${(sums.bare / rounds).toFixed(0)} us, poll ${(sums.poll / rounds).toFixed(0)} us, CPU ratio bare/poll ${(sums.bare / sums.poll).toFixed(2)}`,
  );
  for (const [i, name] of ['bare', 'poll'].entries()) {
    const stop = profilers[i];
    if (!stop) continue;
    saveProfile(name, await stop(), 30);
  }
} finally {
  for (const child of children.reverse()) await child.stop();
  await env.cleanup();
}
process.exit();
