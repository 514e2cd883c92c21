import { loadConfig } from '../src/config.js';
import { createTestEnv } from '../test/support/env.js';

// BENCH_ENV='{"WORKER_CONCURRENCY":"256"}' tries other settings; run.ts's report records them.
export const benchOverrides = JSON.parse(process.env.BENCH_ENV ?? '{}') as Record<string, string>;

const defaults = loadConfig({});

// A database, vhost and Redis prefix of the run's own (the test suite's isolation), with the
// settings production runs with: the test suite turns off shedding and the drain's lower CPU
// priority and shortens the retry backoff, and none of that is what is measured here.
export function createBenchEnv(name: string) {
  return createTestEnv(name, {
    LOG_LEVEL: 'warn',
    NODE_ENV: 'production',
    EVENT_LOOP_LAG_SHED_MS: String(defaults.eventLoopLagShedMs),
    DRAIN_NICE: String(defaults.drainNice),
    JOB_BACKOFF_MS: String(defaults.jobBackoffMs),
    ...benchOverrides,
  });
}
