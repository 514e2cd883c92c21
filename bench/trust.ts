// npm run bench:trust [-- --quick]
// The costs of trust at the front door (issue 24), in one run on the local services, in a
// database, vhost and Redis prefix of its own: buyer-token verification (HS256 against an
// identity provider's RS256, ES256 and EdDSA, first time and cached), what a challenge costs a
// bot's core and a browser at each cost level, what issuing and checking one costs the server,
// the purchase with proof of work on against off, and a bot farm against one person. Prints
// ratios measured in this run and writes bench/results/trust.json (quick: trust-quick.json).
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config.js';
import { createBenchEnv } from './env.js';
import { spawnProcess, type Child } from './processes.js';
import { tokenMeasures } from './trust-tokens.js';
import { checkCost, costLevels } from './trust-work.js';
import { purchaseThroughput } from './trust-purchase.js';
import { farmAgainstPerson } from './trust-farm.js';

const quick = process.argv.includes('--quick');
const plan = quick
  ? {
      tokenSeconds: 0.3,
      distinct: 200,
      sampleAttempts: 100,
      checks: 500,
      perTurn: 3_000,
      clients: 200,
      places: 10,
    }
  : {
      tokenSeconds: 1,
      distinct: 1_000,
      sampleAttempts: 400,
      checks: 3_000,
      perTurn: 20_000,
      clients: 1_000,
      places: 100,
    };
const log = (message: string) => process.stdout.write(`[trust] ${message}\n`);
const defaults = loadConfig({}).proofOfWork;
// The defaults' bounds and the levels around them.
const levels = [...new Set([defaults.minCost, 25, 50, 100, 250, 500, 1000, defaults.maxCost])].sort(
  (a, b) => a - b,
);

log('buyer tokens: HS256 against an identity provider');
const tokens = await tokenMeasures(plan.distinct, plan.tokenSeconds);
const hs = tokens.find((m) => m.name === 'HS256 first time')!.perSecond;
const hsCached = tokens.find((m) => m.name === 'HS256 cached')!.perSecond;
for (const m of tokens) {
  const base = m.name.endsWith('cached') ? hsCached : hs;
  log(
    `  ${m.name.padEnd(18)} ${String(m.perSecond).padStart(9)}/s  ${String(m.microsPerToken).padStart(7)} µs  ${(m.perSecond / base).toFixed(2)}x HS256`,
  );
}

log(`proof of work: a solve at each cost, ${defaults.attempts} attempts on average`);
const costs = await costLevels(levels, defaults.attempts, plan.sampleAttempts);
for (const c of costs) {
  log(
    `  cost ${String(c.cost).padStart(5)}: bot core ${c.coreSecondsPerSolve} s (${c.coreMicrosPerAttempt} µs/attempt), browser ${c.browserSecondsPerSolve ?? '-'} s (${c.browserMicrosPerAttempt ?? '-'} µs/attempt), server issues one in ${c.issueMicros} µs`,
  );
}
const check = await checkCost(plan.checks);
log(`  server checks a solution in ${check.microsPerCheck} µs (before the one-use SET in Redis)`);

const env = await createBenchEnv('trust');
const children: Child[] = [];
let throughput;
let farm;
try {
  const api = await spawnProcess('api', 'src/cmd/api.ts', {
    env: { ...env.env, TRUSTED_PROXIES: '127.0.0.1/32' },
    portVariable: 'PORT',
    args: [],
  });
  children.push(api);
  const apiUrl = `http://127.0.0.1:${api.port}`;
  const target = {
    apiUrl,
    adminToken: env.config.adminToken,
    jwtSecret: env.config.jwtSecret,
    powSecret: env.config.proofOfWork.secret,
  };
  log(`purchase, accepted path: proof of work off against on, ${plan.perTurn} purchases a turn`);
  throughput = await purchaseThroughput(target, plan.perTurn, 100);
  log(
    `  off ${throughput.off.acceptedPerSecond}/s ${JSON.stringify(throughput.off.byStatus)}; on ${throughput.on.acceptedPerSecond}/s ${JSON.stringify(throughput.on.byStatus)}: ${throughput.ratio}x (target >= 0.8x)`,
  );

  log(`a farm of ${plan.clients} clients taking ${plan.places} places, against one person`);
  const created = await fetch(`${apiUrl}/admin/sales`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${env.config.adminToken}`,
      'content-type': 'application/json',
    },
    body: JSON.stringify({ sku: 'trust-farm', name: 'Farm', stock: 100_000, proofOfWork: true }),
  });
  const saleId = ((await created.json()) as { id: number }).id;
  farm = await farmAgainstPerson(
    { apiUrl, saleId, secret: env.config.jwtSecret },
    plan.clients,
    plan.places,
  );
  log(
    `  farm: ${farm.farmCpuSeconds} CPU-s (${farm.farmWallSeconds} s on ${os.availableParallelism()} cores) for ${farm.places} places, costs ${JSON.stringify(farm.farmCosts)}, ${farm.solvesTried} solves`,
  );
  log(
    `  person alone: cost ${farm.personAlone.cost}, ${farm.personAlone.cpuSeconds} CPU-s; in the farm's crowd: cost ${farm.personInCrowd.cost}, ${farm.personInCrowd.cpuSeconds} CPU-s`,
  );
  log(
    `  the farm paid ${(farm.farmCpuSeconds / farm.personInCrowd.cpuSeconds).toFixed(0)}x the person in the crowd, ${(farm.farmCpuSeconds / farm.personAlone.cpuSeconds).toFixed(0)}x the person alone`,
  );
} finally {
  for (const child of children) await child.stop();
  await env.cleanup();
}

const resultsDir = fileURLToPath(new URL('results/', import.meta.url));
mkdirSync(resultsDir, { recursive: true });
const file = `${resultsDir}${quick ? 'trust-quick' : 'trust'}.json`;
writeFileSync(
  file,
  `${JSON.stringify({ date: new Date().toISOString(), quick, machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, node: process.version }, powDefaults: { ...defaults, secret: undefined }, tokens, costs, check, throughput, farm }, null, 1)}\n`,
);
log(`written ${file}`);
