// npm run bench:trust [-- --quick] [-- --only=tokens,work,purchase,join,farm]
// The costs of trust at the front door (issue 24), in one run on the local services, in a
// database, vhost and Redis prefix of its own: buyer-token verification (HS256 against an
// identity provider's RS256, ES256 and EdDSA, first time and cached), what a challenge costs a
// bot's core and a browser at each cost level, what issuing and checking one costs the server,
// the purchase and the waiting room's join with proof of work on against off, and a bot farm
// against one person. Prints ratios measured in this run and writes bench/results/trust.json
// (quick: trust-quick.json).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config.js';
import { createBenchEnv } from './env.js';
import { spawnProcess } from './processes.js';
import { tokenMeasures } from './trust-tokens.js';
import { checkCost, costLevels } from './trust-work.js';
import { purchaseThroughput } from './trust-purchase.js';
import { joinThroughput } from './trust-join.js';
import { farmAgainstPerson } from './trust-farm.js';

const quick = process.argv.includes('--quick');
const onlyArg = process.argv.find((a) => a.startsWith('--only='));
const parts = onlyArg
  ? onlyArg.slice(7).split(',')
  : ['tokens', 'work', 'purchase', 'join', 'farm'];
const plan = quick
  ? { tokenSeconds: 0.3, distinct: 200, sampleAttempts: 100, checks: 500 }
  : { tokenSeconds: 1, distinct: 1_000, sampleAttempts: 400, checks: 3_000 };
const system = quick
  ? { perTurn: 3_000, clients: 200, places: 10 }
  : { perTurn: 20_000, clients: 1_000, places: 100 };
const log = (message: string) => process.stdout.write(`[trust] ${message}\n`);
const defaults = loadConfig({}).pow;
// The defaults' bounds and the levels around them.
const levels = [...new Set([defaults.minCost, 25, 50, 100, 250, 500, 1000, defaults.maxCost])];
const results: Record<string, unknown> = {};

async function tokens() {
  log('buyer tokens: HS256 against an identity provider');
  const measures = await tokenMeasures(plan.distinct, plan.tokenSeconds);
  const base = (name: string) => measures.find((m) => m.name === name)!.perSecond;
  for (const m of measures) {
    const hs = base(m.name.endsWith('cached') ? 'HS256 cached' : 'HS256 first time');
    log(
      `  ${m.name.padEnd(18)} ${String(m.perSecond).padStart(9)}/s ${String(m.microsPerToken).padStart(7)} µs  ${(m.perSecond / hs).toFixed(2)}x HS256`,
    );
  }
  results.tokens = measures;
}

async function work() {
  log(`proof of work: a solve at each cost, ${defaults.attempts} attempts on average`);
  const costs = await costLevels(
    levels.sort((a, b) => a - b),
    defaults.attempts,
    plan.sampleAttempts,
  );
  for (const c of costs) {
    log(
      `  cost ${String(c.cost).padStart(5)}: bot core ${c.coreSecondsPerSolve} s (${c.coreMicrosPerAttempt} µs/attempt), browser ${c.browserSecondsPerSolve ?? '-'} s (${c.browserMicrosPerAttempt ?? '-'} µs/attempt), server issues one in ${c.issueMicros} µs`,
    );
  }
  const check = await checkCost(plan.checks);
  log(`  server checks a solution in ${check.microsPerCheck} µs (before the one-use SET)`);
  results.costs = costs;
  results.check = check;
}

async function onTheSystem() {
  const env = await createBenchEnv('trust');
  const api = await spawnProcess('api', 'src/cmd/api.ts', {
    // Challenges live 10 minutes here, not 2: on a machine shared with others the farm may take
    // longer than 2 minutes to solve its places, and what a solve costs does not depend on it.
    env: { ...env.env, TRUSTED_PROXIES: '127.0.0.1/32', POW_CHALLENGE_SECONDS: '600' },
    portVariable: 'PORT',
    args: [],
  });
  try {
    const apiUrl = `http://127.0.0.1:${api.port}`;
    const target = {
      apiUrl,
      apiPid: api.child.pid,
      adminToken: env.config.auth.adminToken,
      jwtSecret: env.config.jwt.secret,
      powSecret: env.config.pow.secret,
    };
    if (parts.includes('purchase')) {
      log(`purchase, accepted path: proof of work off against on, ${system.perTurn} a turn`);
      const t = await purchaseThroughput(target, system.perTurn, 100);
      log(
        `  off ${t.off.acceptedPerSecond}/s ${JSON.stringify(t.off.byStatus)}; on ${t.on.acceptedPerSecond}/s ${JSON.stringify(t.on.byStatus)}: ${t.ratio}x (target >= 0.8x)`,
      );
      log(
        `  CPU µs per answer, off ${JSON.stringify(t.off.cpuMicrosPerAnswer)}, on ${JSON.stringify(t.on.cpuMicrosPerAnswer)}: the API's capacity on/off ${t.apiCpuRatio}x`,
      );
      results.throughput = t;
    }
    if (parts.includes('join')) {
      log(`waiting room's join: proof of work off against on, ${system.perTurn} a turn`);
      const j = await joinThroughput(target, system.perTurn, 100);
      const errors = (m: typeof j.off) => (m.errors ? `, ${m.errors} errors` : '');
      log(
        `  off ${j.off.joinedPerSecond}/s ${JSON.stringify(j.off.byStatus)}${errors(j.off)}; on ${j.on.joinedPerSecond}/s ${JSON.stringify(j.on.byStatus)}${errors(j.on)}: ${j.ratio}x (target >= 0.8x)`,
      );
      log(
        `  CPU µs per answer, off ${JSON.stringify(j.off.cpuMicrosPerAnswer)}, on ${JSON.stringify(j.on.cpuMicrosPerAnswer)}: the API's capacity on/off ${j.apiCpuRatio}x`,
      );
      results.join = j;
    }
    if (parts.includes('farm')) {
      log(`a farm of ${system.clients} clients taking ${system.places} places, against one person`);
      const api = { apiUrl, adminToken: env.config.auth.adminToken, secret: env.config.jwt.secret };
      // Time for every client to ask before the drop opens (and start solving).
      const cores = os.availableParallelism();
      const leadMs = 5_000 + system.clients * 10;
      const f = await farmAgainstPerson(api, system.clients, system.places, leadMs);
      log(
        `  farm: ${f.farmCpuSeconds} CPU-s (${f.farmWallSeconds} s on ${cores} cores, the drop opening after ${leadMs / 1000} s) for ${f.places} places, costs ${JSON.stringify(f.farmCosts)}, ${f.solvesTried} solves, ${f.reasked} challenges asked again (costs ${JSON.stringify(f.reaskedCosts)})`,
      );
      log(
        `  person alone: cost ${f.personAlone.cost}, ${f.personAlone.cpuSeconds} CPU-s; at the drop: cost ${f.personAtDrop.cost}, ${f.personAtDrop.cpuSeconds} CPU-s`,
      );
      log(
        `  the farm paid ${(f.farmCpuSeconds / f.personAtDrop.cpuSeconds).toFixed(0)}x the person at the drop, ${(f.farmCpuSeconds / f.personAlone.cpuSeconds).toFixed(0)}x the person alone`,
      );
      results.farm = f;
    }
  } finally {
    await api.stop();
    await env.cleanup();
  }
}

if (parts.includes('tokens')) await tokens();
if (parts.includes('work')) await work();
if (['purchase', 'join', 'farm'].some((part) => parts.includes(part))) await onTheSystem();

// A full run of some parts only (--only=) updates those parts of trust.json, each with its date.
const resultsDir = fileURLToPath(new URL('results/', import.meta.url));
mkdirSync(resultsDir, { recursive: true });
const file = `${resultsDir}${quick ? 'trust-quick' : 'trust'}.json`;
const machine = { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, node: process.version };
const measured = { date: new Date().toISOString(), loadAverage: os.loadavg(), machine };
let previous: Record<string, unknown> = {};
try {
  previous = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
} catch {
  previous = {};
}
const merged: Record<string, unknown> = {
  ...previous,
  settings: { ...defaults, secret: undefined },
};
for (const [part, value] of Object.entries(results)) merged[part] = { ...measured, value };
writeFileSync(file, `${JSON.stringify(merged, null, 1)}\n`);
log(`written ${file} (load average ${measured.loadAverage.map((l) => l.toFixed(1)).join(' ')})`);
