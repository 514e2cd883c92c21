import { loadConfig } from '../src/config.js';
import { createTestEnv } from '../test/support/env.js';
import { stopEveryProcess } from './processes.js';

// BENCH_ENV='{"WORKER_CONCURRENCY":"256"}' tries other settings; run.ts's report records them.
export const benchOverrides = JSON.parse(process.env.BENCH_ENV ?? '{}') as Record<string, string>;

const defaults = loadConfig({});

// A database, vhost and Redis prefix of the run's own (the test suite's isolation), with the
// settings production runs with: the test suite turns off admission and the drain's lower CPU
// priority and shortens the retry backoff, and none of that is what is measured here.
// An interrupted run (Ctrl-C, SIGTERM) stops its processes and removes what it created, as a
// finished one does: a bench leaves millions of reservations in Redis otherwise.
export async function createBenchEnv(name: string) {
  const env = await createTestEnv(name, {
    LOG_LEVEL: 'warn',
    NODE_ENV: 'production',
    ADMISSION: defaults.admission.enabled ? 'adaptive' : 'off',
    DRAIN_NICE: String(defaults.process.drainNice),
    EVENTS_NICE: String(defaults.events.nice),
    JOB_BACKOFF_MS: String(defaults.queues.jobBackoffMs),
    ...benchOverrides,
  });
  // One cleanup however many ask: the script's own `finally` also runs when the interrupted
  // processes make its measure fail, and two at once would race each other's DROP DATABASE.
  let cleaning: Promise<void> | undefined;
  const cleanup = () => (cleaning ??= env.cleanup());
  // Kept for repeats (a terminal's Ctrl-C reaches every process of the group, and npm passes
  // it on once more): without a listener the next one would end the process mid-cleanup.
  let interruptedBy: NodeJS.Signals | undefined;
  const interrupted = (signal: NodeJS.Signals) => {
    if (interruptedBy) return;
    interruptedBy = signal;
    process.stderr.write(`[bench] ${signal}: stopping and removing the run's data\n`);
    void stopEveryProcess()
      .then(cleanup)
      .finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', interrupted);
  process.on('SIGTERM', interrupted);
  return { ...env, cleanup };
}
