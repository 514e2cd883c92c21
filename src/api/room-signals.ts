import { randomBytes } from 'node:crypto';
import { roomSignalsKey } from '../gate/keys.js';
import type { Logger } from '../observability/logger.js';
import type { RedisClient } from '../redis/connection.js';
import type { AdaptiveAdmission } from './admission/adaptive-admission.js';

// Each API process publishes its adaptive admission's state once per interval, so that every
// room's admitter, in whichever process holds its lease, follows the purchase path of all of
// them (src/room/outflow.ts). Returns the function that stops it.
export function publishRoomSignals(
  redis: RedisClient,
  prefix: string,
  admission: AdaptiveAdmission,
  intervalMs: number,
  logger: Logger,
): () => Promise<void> {
  const field = randomBytes(8).toString('hex');
  const key = roomSignalsKey(prefix);
  const timer = setInterval(() => {
    const value = JSON.stringify({ ...admission.signal(), at: Date.now() });
    redis
      .hset(key, field, value)
      .catch((error: unknown) => logger.warn({ err: error }, 'room signals not published'));
  }, intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await redis.hdel(key, field).catch(() => undefined);
  };
}
