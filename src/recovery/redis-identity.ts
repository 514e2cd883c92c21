import type { Redis } from 'ioredis';
import type { Logger } from '../observability/logger.js';

// Notices that the Redis behind a connection is no longer the one it was: after a reconnect
// the server's run_id is new when it restarted (from older files, or with none) or when a
// failover put another server behind the name. Either way it may have forgotten writes, and
// the caller repairs at once instead of at its next periodic pass.
export function watchRedisIdentity(
  redis: Redis,
  logger: Logger,
  onChanged: (detail: { from: string; to: string }) => void,
): void {
  let known: string | null = null;
  const check = () => {
    redis
      .info('server')
      .then((info) => {
        const runId = /^run_id:(\S+)/m.exec(info)?.[1];
        if (!runId) return;
        const previous = known;
        known = runId;
        if (previous !== null && previous !== runId) {
          logger.warn(
            { from: previous, to: runId },
            'redis is a new server; it may have lost state',
          );
          onChanged({ from: previous, to: runId });
        }
      })
      .catch((error: unknown) => logger.warn({ err: error }, 'reading the redis run_id failed'));
  };
  redis.on('ready', check);
  if (redis.status === 'ready') check();
}
