import { loadConfig, type Config } from '../config.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { startTracing, tracingOptions, type Tracing } from '../observability/tracing.js';
import { lowerPriority } from './process-priority.js';

export type Running = { stop: () => Promise<void> };
export type Start = (config: Config, logger: Logger) => Promise<Running>;

// Imports a process's modules only when called. Entries pass their start function this way
// so that tracing is running before `pg` is first imported (its instrumentation hooks the
// import); a start function imported statically works too, only without database spans.
export function startFrom(load: (config: Config) => Promise<Start>): Start {
  return async (config, logger) => (await load(config))(config, logger);
}

// The frame every process entry shares: read config, start tracing when configured, start,
// log ready, and on SIGTERM or SIGINT stop taking work and drain within SHUTDOWN_TIMEOUT_MS
// (flushing the last spans) before exiting.
// A drain process (the bridge, the worker, the compensator) runs at DRAIN_NICE: on a host it
// shares with the API, buyers' answers get the CPU first and the queue absorbs the difference.
export function runProcess(
  name: string,
  start: Start,
  options: { drain?: boolean; nice?: (config: Config) => number } = {},
): void {
  const config = loadConfig();
  const logger = createLogger(config.process.logLevel, name);
  const nice = lowerPriority(
    options.nice ? options.nice(config) : options.drain ? config.process.drainNice : 0,
  );
  let tracing: Tracing | null = null;
  try {
    tracing = startTracing(tracingOptions(config, name));
  } catch (error) {
    logger.error({ err: error }, 'tracing failed to start; running without it');
  }
  let stopping = false;

  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'draining');
    const deadline = setTimeout(() => {
      logger.error('drain deadline passed; exiting');
      process.exit(1);
    }, config.process.shutdownTimeoutMs);
    deadline.unref();
    running
      .then((started) => started.stop())
      .then(() => tracing?.shutdown())
      .then(
        () => {
          logger.info('stopped');
          process.exit(0);
        },
        (error: unknown) => {
          logger.error({ err: error }, 'stop failed');
          process.exit(1);
        },
      );
  };

  const running = start(config, logger);
  running.then(
    () => logger.info({ tracing: tracing !== null, nice }, 'ready'),
    (error: unknown) => {
      logger.fatal({ err: error }, 'failed to start');
      process.exit(1);
    },
  );
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}
