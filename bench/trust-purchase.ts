// The purchase's accepted path with proof of work on against off, for bench/trust.ts: two
// sales of 10,000,000 units on the same API process, one created with proofOfWork. Each
// purchase of the first carries a solution of its own, made ahead (in this process, with the
// API's POW_SECRET, at the lowest cost: checking a solution costs the server the same whatever
// the work it took, ALTCHA's key-signature path). The same number of purchases on each, in
// turns (off, on, off, on), flat out; orders stay in RabbitMQ (no bridge), as in run.ts's (b).
import autocannon from 'autocannon';
import { signBuyerToken } from '../src/auth/jwt.js';
import { challengeSecrets, createSaleChallenge } from '../src/pow/challenge.js';
import { solveOnCore } from './trust-work.js';
import { sampleCpu } from './cpu.js';

type ModeResult = {
  acceptedPerSecond: number;
  byStatus: Record<string, number>;
  // CPU per answer (µs) of the API process, of Redis, and of the load generator (this process).
  cpuMicrosPerAnswer: Record<'api' | 'redis' | 'load generator', number>;
};

export type ThroughputResult = {
  requestsPerTurn: number;
  off: ModeResult;
  on: ModeResult;
  // Accepted per second, on over off; and the API's capacity, off's CPU per answer over on's.
  ratio: number;
  apiCpuRatio: number;
};

export type Target = {
  apiUrl: string;
  apiPid: number | undefined;
  adminToken: string;
  jwtSecret: string;
  powSecret: string;
};

// A sale of ten million units, with or without proof of work, and whatever else `extra` sets
// (the join's bench gives it a waiting room).
export async function createSale(
  t: Target,
  sku: string,
  proofOfWork: boolean,
  extra: Record<string, unknown> = { perUserLimit: 1_000 },
): Promise<number> {
  const response = await fetch(`${t.apiUrl}/admin/sales`, {
    method: 'POST',
    headers: { authorization: `Bearer ${t.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ sku, name: sku, stock: 10_000_000, proofOfWork, ...extra }),
  });
  if (response.status !== 201) throw new Error(`create sale ${sku}: ${response.status}`);
  return ((await response.json()) as { id: number }).id;
}

async function turn(
  apiUrl: string,
  path: string,
  headersOf: (i: number) => Record<string, string>,
  amount: number,
  connections: number,
) {
  let next = 0;
  const request: autocannon.Request = {
    method: 'POST',
    path,
    headers: headersOf(0),
    body: '{"quantity":1}',
    setupRequest: (req) => ({ ...req, headers: headersOf(next++) }),
  };
  const result = await autocannon({ url: apiUrl, connections, amount, requests: [request] });
  const byStatus: Record<string, number> = {};
  for (const [status, stat] of Object.entries(result.statusCodeStats ?? {}))
    byStatus[status] = stat.count ?? 0;
  return { seconds: result.duration, byStatus };
}

export async function purchaseThroughput(
  t: Target,
  requestsPerTurn: number,
  connections: number,
): Promise<ThroughputResult> {
  const plain = await createSale(t, 'trust-pow-off', false);
  const guarded = await createSale(t, 'trust-pow-on', true);
  const buyers = 10_000;
  const tokens = Array.from({ length: buyers }, (_, i) => signBuyerToken(`b-${i}`, t.jwtSecret));
  const secrets = challengeSecrets(t.powSecret);
  // Two turns with proof of work, and a margin: autocannon may send a few more than `amount`.
  const solutions: string[] = [];
  for (let i = 0; i < 2 * requestsPerTurn + 2 * connections; i++) {
    const challenge = await createSaleChallenge(secrets, {
      buyer: `b-${i % buyers}`,
      saleId: guarded,
      cost: 1,
      attempts: 2,
      lifetimeSeconds: 3600,
    });
    solutions.push(solveOnCore(challenge));
  }
  const json = { 'content-type': 'application/json' };
  const offHeaders = (i: number) => ({ ...json, authorization: `Bearer ${tokens[i % buyers]}` });
  let used = 0;
  type Total = { seconds: number; byStatus: Record<string, number>; cpu: Record<string, number> };
  const totals: Record<'off' | 'on', Total> = {
    off: { seconds: 0, byStatus: {}, cpu: {} },
    on: { seconds: 0, byStatus: {}, cpu: {} },
  };
  for (const mode of ['off', 'on', 'off', 'on'] as const) {
    const path = `/sales/${mode === 'on' ? guarded : plain}/purchase`;
    // Solutions are handed out in order, each with its own buyer's token.
    const headersOf =
      mode === 'on'
        ? () => {
            const k = used++;
            return { ...offHeaders(k), 'x-altcha': solutions[k]! };
          }
        : offHeaders;
    const before = sampleCpu({ api: t.apiPid });
    const result = await turn(t.apiUrl, path, headersOf, requestsPerTurn, connections);
    const after = sampleCpu({ api: t.apiPid });
    for (const name of ['api', 'redis', 'load generator'])
      totals[mode].cpu[name] =
        (totals[mode].cpu[name] ?? 0) + (after.seconds[name] ?? 0) - (before.seconds[name] ?? 0);
    totals[mode].seconds += result.seconds;
    for (const [status, count] of Object.entries(result.byStatus))
      totals[mode].byStatus[status] = (totals[mode].byStatus[status] ?? 0) + count;
  }
  const accepted = (mode: 'off' | 'on') =>
    Math.round((totals[mode].byStatus['202'] ?? 0) / totals[mode].seconds);
  const result = (mode: 'off' | 'on'): ModeResult => {
    const answers = Object.values(totals[mode].byStatus).reduce((a, b) => a + b, 0);
    const per = (name: string) => Math.round(((totals[mode].cpu[name] ?? 0) / answers) * 1e6);
    return {
      acceptedPerSecond: accepted(mode),
      byStatus: totals[mode].byStatus,
      cpuMicrosPerAnswer: {
        api: per('api'),
        redis: per('redis'),
        'load generator': per('load generator'),
      },
    };
  };
  const off = result('off');
  const on = result('on');
  return {
    requestsPerTurn,
    off,
    on,
    ratio: Math.round((accepted('on') / accepted('off')) * 100) / 100,
    apiCpuRatio: Math.round((off.cpuMicrosPerAnswer.api / on.cpuMicrosPerAnswer.api) * 100) / 100,
  };
}
