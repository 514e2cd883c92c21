// npm run bench [-- --quick] [-- --profile]
// Starts the system on the local services in a database, vhost and Redis prefix of its own,
// measures the ceilings and the system in one run, prints a table of ratios and writes
// bench/results/latest.json (quick runs: bench/results/quick.json). See bench/README.md.
// Each measure is a module of bench/measures/, run in the order below: later ones use the
// sales and the processes earlier ones left.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { benchOverrides, createBenchEnv } from './env.js';
import { signBuyerToken } from '../src/auth/jwt.js';
import { printReport, type Report } from './report.js';
import {
  apiProcesses,
  log,
  machine,
  plan,
  profile,
  quick,
  startFront,
  type Bench,
} from './measures/context.js';
import { flatCeilings } from './measures/flat.js';
import { acceptedFlat } from './measures/accepted.js';
import { drain } from './measures/drain.js';
import { soldOutFlat } from './measures/sold-out.js';
import { fixedRates } from './measures/fixed-rates.js';
import { overload } from './measures/overload.js';
import { wrkMeasure } from './measures/wrk.js';
import { sellout } from './measures/sellout.js';
import { waitingRoom } from './measures/waiting-room.js';

const resultsDir = fileURLToPath(new URL('results/', import.meta.url));

async function measure(bench: Bench): Promise<Report['measures']> {
  const { bareFlat, rawPublishesPerSecond } = await flatCeilings(bench);
  const accepted = await acceptedFlat(bench);
  const drained = await drain(bench, accepted.bigSale, accepted.backlog);
  const soldOut = await soldOutFlat(bench);
  const rates = await fixedRates(bench, accepted.bigSale, soldOut.soldOutSale);
  const overloaded = await overload(bench, accepted.bigSale);
  const wrk = await wrkMeasure(bench, soldOut.soldOutSale);
  const acceptedSoFar = accepted.backlog + rates.acceptedAt2kCount + overloaded.acceptedTotal;
  return {
    bareFlat,
    rawPublishesPerSecond,
    acceptedFlat: accepted.acceptedFlat,
    soldOutFlat: soldOut.soldOutFlat,
    ...drained,
    bareAt2k: rates.bareAt2k,
    acceptedAt2k: rates.acceptedAt2k,
    bareAt10k: rates.bareAt10k,
    soldOutAt10k: rates.soldOutAt10k,
    overload: overloaded,
    wrk,
    sellout: await sellout(bench, accepted.bigSale, acceptedSoFar),
    waitingRoom: await waitingRoom(bench),
  };
}

async function main() {
  const startedAt = new Date();
  const loadBefore = os.loadavg();
  log(`${quick ? 'quick' : 'full'} run on ${os.cpus().length} cpus; preparing an isolated env`);
  const env = await createBenchEnv('bench');
  const bench: Bench = {
    env,
    db: new pg.Pool({ connectionString: env.config.database.url, max: 2 }),
    children: [],
    cpuProfileDir: profile ? `${resultsDir}profiles` : undefined,
    tokens: Array.from({ length: plan.selloutBuyers }, (_, i) =>
      signBuyerToken(`buyer-${i}`, env.config.jwt.secret),
    ),
    bareUrls: [],
    apiUrls: [],
    unlimitedUrl: '',
    cpu: {},
  };
  try {
    await startFront(bench);
    const measures = await measure(bench);
    const report: Report = {
      date: startedAt.toISOString(),
      cpuCores: bench.cpu,
      quick,
      settings: {
        ...benchOverrides,
        ...(apiProcesses > 1 ? { apiProcesses: String(apiProcesses) } : {}),
      },
      machine: machine(loadBefore),
      measures,
    };
    printReport(report, log);
    mkdirSync(resultsDir, { recursive: true });
    const file = `${resultsDir}${quick ? 'quick' : 'latest'}.json`;
    writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
    log(`wrote ${file}`);
  } finally {
    for (const child of bench.children.reverse()) await child.stop();
    await bench.db.end();
    await env.cleanup();
  }
}

try {
  await main();
} catch (error) {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
}
// autocannon leaves timers behind that would keep a finished run alive.
process.exit();
