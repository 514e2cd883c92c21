import type { Registry } from 'prom-client';
import type { Config } from '../../config.js';
import type { Logger } from '../../observability/logger.js';
import { metricsPortChoice, serveMetrics } from '../../observability/metrics-server.js';
import type { RedisClient } from '../../redis/connection.js';

// The /metrics of a process without an HTTP API: its configured port, or the next free one.
export async function serveProcessMetrics(
  config: Config,
  logger: Logger,
  registry: Registry,
  role: 'bridge' | 'worker' | 'compensator' | 'events',
) {
  const served = await serveMetrics(registry, config.http.host, metricsPortChoice(config, role));
  logger.info({ metricsPort: served.port }, `${role} metrics listening`);
  return served;
}

// Closes Redis connections one after the other; one already gone does not stop the rest.
export async function quit(...clients: RedisClient[]): Promise<void> {
  for (const client of clients) await client.quit().catch(() => undefined);
}
