// npx tsx bench/profile-join.ts [buyers] [rounds] [--profile]
// The waiting room's join against the bare route's POST (bench/bare-server.ts): each round,
// the bare route answers `buyers` requests flat out, then `buyers` distinct buyers join a room
// of their own (a new sale each round, before its start) flat out, as bench:room's join phase
// does. Per phase: answers a second, and CPU per answer (µs) of the server, Redis and this
// load generator (/proc; Redis is shared, so its figure is an upper bound). With --profile the
// API's joins after the first round (the JIT warm) are profiled through its inspector, written
// to bench/results/profiles/join.cpuprofile and summarised (profile-summary.ts).
import { createBenchEnv } from './env.js';
import { signBuyerToken } from '../src/auth/jwt.js';
import type { Child } from './processes.js';
import { roomLoad } from './waiting-room-load.js';
import { sampleCpu } from './cpu.js';
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
const [buyers = 10_000, rounds = 3] = numbers;
const load = loadAverage;

const env = await createBenchEnv('profilejoin');
const children: Child[] = [];
try {
  const { bare, api } = await bareAndApi(env, children, { bare: false, api: profiled });
  const apiUrl = api.url;
  const bareUrl = bare.url;
  const tokens = Array.from({ length: buyers }, (_, i) =>
    signBuyerToken(`join-buyer-${i}`, env.config.jwt.secret),
  );
  const auth = (i: number) => ({ authorization: `Bearer ${tokens[i % buyers]}` });
  const createRoom = (round: number) => createRoomSale(env, apiUrl, `join-${round}`);
  const measure = async (name: string, pid: number, url: string, path: string) => {
    const before = sampleCpu({ server: pid });
    const result = await roomLoad({
      baseUrl: url,
      path,
      method: 'POST',
      connections: 200,
      amount: buyers,
      headers: auth,
    });
    const after = sampleCpu({ server: pid });
    const answers = Object.values(result.byStatus).reduce((a, b) => a + b, 0);
    const us = (what: string) =>
      Math.round((((after.seconds[what] ?? 0) - (before.seconds[what] ?? 0)) * 1e6) / answers);
    const cpu = { server: us('server'), redis: us('redis'), loader: us('load generator') };
    log(
      `${name.padEnd(5)} ${String(result.perSecond).padStart(6)}/s CPU/answer µs ${JSON.stringify(cpu)} ${JSON.stringify(result.byStatus)} load ${load()}`,
    );
    return { perSecond: result.perSecond, ...cpu };
  };
  const sums = { bare: 0, join: 0, bareCpu: 0, apiCpu: 0, redisCpu: 0 };
  let stopProfiler: (() => Promise<unknown>) | null = null;
  for (let round = 0; round < rounds; round++) {
    const saleId = await createRoom(round);
    // One join first: the room's settings and views are read before the measure.
    await fetch(`${apiUrl}/sales/${saleId}/queue`, {
      method: 'POST',
      headers: { authorization: `Bearer ${signBuyerToken('warm', env.config.jwt.secret)}` },
    });
    const b = await measure('bare', bare.child.child.pid!, bareUrl, '/sales/1/queue');
    if (profiled && round === 1) stopProfiler = await startProfiler(api.inspectPort!);
    const j = await measure('join', api.child.child.pid!, apiUrl, `/sales/${saleId}/queue`);
    sums.bare += b.perSecond;
    sums.join += j.perSecond;
    sums.bareCpu += b.server;
    sums.apiCpu += j.server;
    sums.redisCpu += j.redis;
  }
  const mean = (x: number) => Math.round(x / rounds);
  log(
    `mean: bare ${mean(sums.bare)}/s ${mean(sums.bareCpu)} µs, join ${mean(sums.join)}/s API ${mean(sums.apiCpu)} µs Redis ${mean(sums.redisCpu)} µs; join/bare ${(sums.join / sums.bare).toFixed(2)}x, by CPU ${(sums.bareCpu / sums.apiCpu).toFixed(2)}x`,
  );
  if (stopProfiler) {
    saveProfile('join', await stopProfiler(), 40);
  }
} finally {
  for (const child of children.reverse()) await child.stop();
  await env.cleanup();
}
process.exit();
