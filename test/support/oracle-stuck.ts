import pg from 'pg';
import { Redis } from 'ioredis';
import type { TestEnv } from './env.js';

// What an order the oracle waited for in vain left behind, for the timeout's message: its
// BullMQ job (attempts, the reason it last failed: a guard's SQLSTATE, a dead letter), the
// sale's buyer rows (units against the limit PostgreSQL held them to) and its limit changes.
// A failure seen only in CI under load has only this message to tell its cause: it named the
// per-user limit's history looked up by the wrong id (test/buyer-limit.test.ts).
export async function stuckDetails(
  env: TestEnv,
  saleId: number,
  orderIds: readonly string[],
  redisUrl?: string,
): Promise<string> {
  const db = new pg.Client({ connectionString: env.config.database.url });
  await db.connect();
  const lines: string[] = [];
  try {
    const buyers = await db.query(
      'SELECT user_id, units, unit_limit FROM sale_buyers WHERE sale_id = $1 ORDER BY user_id',
      [saleId],
    );
    lines.push(`buyers ${JSON.stringify(buyers.rows)}`);
    const changes = await db.query(
      `SELECT at, before->'perUserLimit' AS before, after->'perUserLimit' AS after
       FROM sale_changes WHERE sale_id = $1 ORDER BY id`,
      [saleId],
    );
    lines.push(`limit changes ${JSON.stringify(changes.rows)}`);
  } finally {
    await db.end();
  }
  // A cluster's keys are spread over its masters: only a single Redis is searched.
  if (env.config.redis.clusterNodes && !redisUrl) return lines.join('; ');
  const redis = new Redis(redisUrl ?? env.config.redis.url);
  try {
    for (const id of orderIds) {
      const keys: string[] = [];
      let cursor = '0';
      do {
        const [next, found] = await redis.scan(
          cursor,
          'MATCH',
          `${env.config.redis.prefix}:bull:*:${id}`,
          'COUNT',
          10_000,
        );
        cursor = next;
        keys.push(...found);
      } while (cursor !== '0');
      const jobs = await Promise.all(
        keys.map(async (key) => {
          const [attempts, failed, finished] = await redis.hmget(
            key,
            'attemptsMade',
            'failedReason',
            'finishedOn',
          );
          return `${key.split(':').slice(-2, -1)[0]} attempts=${attempts} finished=${finished} failed=${failed}`;
        }),
      );
      lines.push(`order ${id}: ${jobs.length > 0 ? jobs.join(', ') : 'no job'}`);
    }
  } finally {
    redis.disconnect();
  }
  return lines.join('; ');
}
