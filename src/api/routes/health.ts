import { Hono } from 'hono';
import { sql } from 'drizzle-orm';
import type { ApiDeps } from '../deps.js';
import { pingRedis } from '../../redis/connection.js';

const withTimeout = <T>(promise: Promise<T>, ms: number) =>
  Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms).unref()),
  ]);

async function check(probe: () => Promise<unknown>): Promise<boolean> {
  try {
    await withTimeout(probe(), 1_000);
    return true;
  } catch {
    return false;
  }
}

export function healthRoutes(deps: ApiDeps) {
  return new Hono()
    .get('/healthz', (c) => c.json({ status: 'ok' }))
    .get('/readyz', async (c) => {
      const [redis, postgres] = await Promise.all([
        check(() => pingRedis(deps.redis)),
        check(() => deps.db.execute(sql`select 1`)),
      ]);
      const rabbitmq = deps.broker.connected;
      const ready = redis && postgres && rabbitmq;
      const checks = { redis, postgres, rabbitmq };
      if (ready) return c.json({ status: 'ready', checks });
      return c.json(
        { error: { code: 'UNAVAILABLE', message: 'a dependency is not answering' }, checks },
        503,
      );
    });
}
