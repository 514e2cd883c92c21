// npm run soak -- --minutes N [--fault-every M] [--spike-every M] [--restart-postgres]
// Issue #26, items 4 and 5: N minutes of sales on a system of its own (bench/soak/stack.ts)
// with a trickle of purchases, a spike and a fault every few minutes; every minute a line of
// figures, and at the end the oracle of every sale and a line fitted to each figure over the
// last half of the run. Exits 1 if an invariant broke or a figure grows without bound.
// Writes bench/results/soak-latest.json. Not in CI: run by hand (bench/README.md, soak).
import { setTimeout as sleep } from 'node:timers/promises';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { client } from '../../test/support/system.js';
import { startStack, type Stack } from './stack.js';
import { startShoppers } from './shoppers.js';
import { isOver, openSale, type SoakSale } from './sales.js';
import { faults } from './faults.js';
import { sample, type Sample } from './samples.js';
import { trends } from './trend.js';
import { checkSale, minuteLine, printTrends } from './report.js';

const argument = (name: string, fallback: number) => {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
};
const minutes = argument('minutes', 60);
const faultEveryMs = argument('fault-every', 4) * 60_000;
const spikeEveryMs = argument('spike-every', 3) * 60_000;
const restartPostgresServer = process.argv.includes('--restart-postgres');
const log = (line: string) => process.stdout.write(`[soak] ${line}\n`);

type Run = {
  stack: Stack;
  sales: SoakSale[];
  current: SoakSale | null;
  checks: Promise<string | null>[];
  samples: Sample[];
  failures: string[];
  faultsDone: string[];
};

// Closes the open sale once it is over, has its oracle checked, and opens the next.
async function rotateSale(run: Run): Promise<void> {
  const api = client(run.stack.baseUrl, run.stack.env);
  const sale = run.current;
  if (sale && !(await isOver(api, sale).catch(() => false))) return;
  if (sale) {
    sale.closedAt = Date.now();
    run.checks.push(checkSale(run.stack.env, sale));
  }
  run.current = null;
  const next = await openSale(api, run.sales.length + 1).catch(() => null);
  if (next) {
    run.sales.push(next);
    run.current = next;
  }
}

async function soak(run: Run): Promise<void> {
  const api = client(run.stack.baseUrl, run.stack.env);
  const shoppers = startShoppers(api, run.stack.env, run.stack.baseUrl, () => run.current);
  const rotation = faults({ restartPostgresServer });
  const started = Date.now();
  const endsAt = started + minutes * 60_000;
  let nextFault = started + faultEveryMs;
  let nextSpike = started + spikeEveryMs;
  let nextSample = started;
  let faulting: Promise<void> = Promise.resolve();
  while (Date.now() < endsAt) {
    await rotateSale(run);
    if (Date.now() >= nextSpike) {
      nextSpike += spikeEveryMs;
      void shoppers.spike(400);
    }
    if (Date.now() >= nextFault) {
      nextFault += faultEveryMs;
      const fault = rotation[run.faultsDone.length % rotation.length]!;
      run.faultsDone.push(fault.name);
      log(`fault: ${fault.name}`);
      faulting = faulting.then(() =>
        fault.inject(run.stack).catch((error: unknown) => {
          run.failures.push(`fault ${fault.name} failed: ${String(error)}`);
        }),
      );
    }
    if (Date.now() >= nextSample) {
      nextSample += 60_000;
      run.samples.push(await sample(run.stack));
      log(minuteLine(run, started));
    }
    await sleep(1_000);
  }
  await faulting;
  await shoppers.stop();
}

async function main(): Promise<void> {
  log(
    `${minutes} min, a fault every ${faultEveryMs / 60_000} min, a spike every ${spikeEveryMs / 60_000} min`,
  );
  const stack = await startStack();
  const run: Run = {
    stack,
    sales: [],
    current: null,
    checks: [],
    samples: [],
    failures: [],
    faultsDone: [],
  };
  try {
    await soak(run);
    if (run.current) {
      run.current.closedAt = Date.now();
      run.checks.push(checkSale(stack.env, run.current));
    }
    const broken = (await Promise.all(run.checks)).filter((f): f is string => f !== null);
    run.failures.push(...broken);
    run.samples.push(await sample(stack));
    const fitted = trends(run.samples);
    printTrends(fitted, log);
    for (const t of fitted.filter((t) => t.grows)) run.failures.push(`${t.figure} grows`);
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD']).toString().trim();
    const dir = fileURLToPath(new URL('../results/', import.meta.url));
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      `${dir}soak-latest.json`,
      JSON.stringify(
        {
          commit,
          minutes,
          faults: run.faultsDone,
          failures: run.failures,
          trends: fitted,
          samples: run.samples,
        },
        null,
        2,
      ),
    );
    log(`${run.sales.length} sales, faults: ${run.faultsDone.join(', ') || 'none'}`);
    for (const failure of run.failures) log(`FAIL ${failure}`);
    log(run.failures.length ? 'soak failed' : 'soak passed');
  } finally {
    await stack.stop();
  }
  process.exitCode = run.failures.length ? 1 : 0;
}

await main();
