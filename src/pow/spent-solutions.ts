import type { RedisClient } from '../redis/connection.js';

export type SpendOutcome = 'first' | 'repeat' | 'used';

// Marks a solved challenge used, across every API process: one SET NX in Redis (atomic, so two
// processes racing with one solution cannot both see it unused), kept as long as the challenge
// could still be accepted. The value is the request's Idempotency-Key: a retry of the same
// purchase (same solution, same key) is a `repeat`, which the gate answers with the first
// answer's order; any other second use is `used`. GET with NX needs Redis 7.
export async function spendSolution(
  redis: RedisClient,
  key: string,
  ttlSeconds: number,
  idempotencyKey: string | undefined,
): Promise<SpendOutcome> {
  const marker = idempotencyKey === undefined ? '-' : `key:${idempotencyKey}`;
  const previous = await redis.set(key, marker, 'EX', Math.max(1, ttlSeconds), 'NX', 'GET');
  if (previous === null) return 'first';
  return idempotencyKey !== undefined && previous === marker ? 'repeat' : 'used';
}
