// The waiting room's join with proof of work on against off, for bench/trust.ts (issue 24):
// two sales of 10,000,000 units with a room on the same API process, one created with
// proofOfWork. Every join is a buyer of its own: joining again answers the same place without
// the join script, a cheaper path than the crowd's. Each join of the first sale carries a
// solution of its own, made ahead as ./trust-purchase.ts makes them, so the ratio is the
// server's check and its one-use SET, not the client's solving. The same number of joins on
// each, in turns (off, on, off, on), flat out.
import autocannon from 'autocannon';
import { signBuyerToken } from '../src/auth/jwt.js';
import { challengeSecrets, createSaleChallenge } from '../src/pow/challenge.js';
import { solveOnCore } from './trust-work.js';
import { sampleCpu } from './cpu.js';
import { createSale, type Target } from './trust-purchase.js';

type Mode = 'off' | 'on';
const processes = ['api', 'redis', 'load generator'] as const;

type JoinMode = {
  joinedPerSecond: number;
  byStatus: Record<string, number>;
  // Connection errors and timeouts: answers that never came, in no status.
  errors: number;
  // CPU per answer (µs) of the API process, of Redis, and of the load generator (this process).
  cpuMicrosPerAnswer: Record<(typeof processes)[number], number>;
};

export type JoinThroughput = {
  joinsPerTurn: number;
  off: JoinMode;
  on: JoinMode;
  // Joined per second, on over off; and the API's capacity, off's CPU per answer over on's.
  ratio: number;
  apiCpuRatio: number;
};

// Open from now on (it opens before the start, itself now). Nobody polls, so the idle drop at
// its longest; and one admission a second: the measure is the join, not the admitter's passes
// beside it, which would then differ between the two sales.
const room = { waitingRoom: { idleSeconds: 600, admitPerSecond: 1 } };

type Turn = { seconds: number; byStatus: Record<string, number>; errors: number };

async function turn(
  t: Target,
  path: string,
  headersOf: () => Record<string, string>,
  amount: number,
  connections: number,
): Promise<Turn> {
  const request: autocannon.Request = {
    method: 'POST',
    path,
    setupRequest: (req) => ({ ...req, headers: headersOf() }),
  };
  const result = await autocannon({ url: t.apiUrl, connections, amount, requests: [request] });
  const byStatus: Record<string, number> = {};
  for (const [status, stat] of Object.entries(result.statusCodeStats ?? {}))
    byStatus[status] = stat.count ?? 0;
  return { seconds: result.duration, byStatus, errors: result.errors };
}

// A token for each buyer of each mode, and a solution for each buyer of the sale with proof of
// work (at the lowest cost: checking one costs the server the same whatever the work it took).
async function madeAhead(t: Target, guarded: number, count: number) {
  const tokens: Record<Mode, string[]> = { off: [], on: [] };
  const solutions: string[] = [];
  const secrets = challengeSecrets(t.powSecret);
  for (let i = 0; i < count; i++) {
    for (const mode of ['off', 'on'] as const)
      tokens[mode].push(signBuyerToken(`join-${mode}-${i}`, t.jwtSecret));
    const challenge = await createSaleChallenge(secrets, {
      buyer: `join-on-${i}`,
      saleId: guarded,
      cost: 1,
      attempts: 2,
      lifetimeSeconds: 3600,
    });
    solutions.push(solveOnCore(challenge));
  }
  return { tokens, solutions };
}

type Total = Turn & { cpu: Record<string, number> };

function summary(total: Total): JoinMode {
  const answers = Object.values(total.byStatus).reduce((a, b) => a + b, 0);
  const per = (name: string) => Math.round(((total.cpu[name] ?? 0) / answers) * 1e6);
  return {
    joinedPerSecond: Math.round((total.byStatus['200'] ?? 0) / total.seconds),
    byStatus: total.byStatus,
    errors: total.errors,
    cpuMicrosPerAnswer: {
      api: per('api'),
      redis: per('redis'),
      'load generator': per('load generator'),
    },
  };
}

export async function joinThroughput(
  t: Target,
  joinsPerTurn: number,
  connections: number,
): Promise<JoinThroughput> {
  const sales: Record<Mode, number> = {
    off: await createSale(t, 'trust-join-pow-off', false, room),
    on: await createSale(t, 'trust-join-pow-on', true, room),
  };
  // Two turns of each mode, and a margin: autocannon may send a few more than `amount`.
  const count = 2 * (joinsPerTurn + connections);
  const { tokens, solutions } = await madeAhead(t, sales.on, count);
  const used: Record<Mode, number> = { off: 0, on: 0 };
  const totals: Record<Mode, Total> = {
    off: { seconds: 0, byStatus: {}, errors: 0, cpu: {} },
    on: { seconds: 0, byStatus: {}, errors: 0, cpu: {} },
  };
  for (const mode of ['off', 'on', 'off', 'on'] as const) {
    // Buyers are handed out in order, each once over the whole run; with its own solution on.
    const headersOf = () => {
      const k = used[mode]++;
      const headers: Record<string, string> = { authorization: `Bearer ${tokens[mode][k]}` };
      if (mode === 'on') headers['x-altcha'] = solutions[k]!;
      return headers;
    };
    const before = sampleCpu({ api: t.apiPid });
    const result = await turn(
      t,
      `/sales/${sales[mode]}/queue`,
      headersOf,
      joinsPerTurn,
      connections,
    );
    const after = sampleCpu({ api: t.apiPid });
    const total = totals[mode];
    for (const name of processes)
      total.cpu[name] =
        (total.cpu[name] ?? 0) + (after.seconds[name] ?? 0) - (before.seconds[name] ?? 0);
    total.seconds += result.seconds;
    total.errors += result.errors;
    for (const [status, n] of Object.entries(result.byStatus))
      total.byStatus[status] = (total.byStatus[status] ?? 0) + n;
  }
  if (used.on > count || used.off > count) throw new Error(`join: ran out of buyers (${count})`);
  const off = summary(totals.off);
  const on = summary(totals.on);
  return {
    joinsPerTurn,
    off,
    on,
    ratio: Math.round((on.joinedPerSecond / off.joinedPerSecond) * 100) / 100,
    apiCpuRatio: Math.round((off.cpuMicrosPerAnswer.api / on.cpuMicrosPerAnswer.api) * 100) / 100,
  };
}
