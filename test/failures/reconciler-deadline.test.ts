import { afterAll, describe, expect, it } from 'vitest';
import { createTestEnv, waitFor, type TestEnv } from '../support/env.js';
import { metric, startTestCompensator, type RunningCompensator } from '../support/failures.js';
import { startRedisServer, stopRedisServers, type RedisServer } from '../support/redis-servers.js';
import { createDatabase } from '../../src/db/client.js';
import { insertSale } from '../../src/db/sales-repository.js';

// Nothing that repairs may hang (DESIGN.md): a Redis that stops answering, without closing its
// sockets (SIGSTOP), must make reconciler passes fail, be counted, and the passes after it
// succeed once Redis answers again.
describe('a reconciler pass against a stalled Redis', () => {
  let env: TestEnv | undefined;
  let redis: RedisServer | undefined;
  let sut: RunningCompensator | undefined;

  afterAll(async () => {
    redis?.resume();
    await sut?.stop();
    await stopRedisServers();
    await env?.cleanup();
  });

  it('fails by its deadline, is counted, and the next pass tries again', async () => {
    redis = await startRedisServer();
    env = await createTestEnv('reconciler-deadline', {
      REDIS_URL: redis.url,
      RECONCILE_INTERVAL_MS: '100',
      RECONCILE_PASS_TIMEOUT_MS: '1500',
      RECOVERY_COMMAND_TIMEOUT_MS: '300',
    });
    // An open sale, so that a pass has Redis work to do for it.
    const db = createDatabase(env.config.database.url, 1);
    await insertSale(db, {
      sku: 'deadline',
      name: 'deadline',
      stock: 10,
      perUserLimit: 1,
      startsAt: new Date(),
      endsAt: null,
    });
    await db.$client.end();
    sut = await startTestCompensator(env);
    const port = sut.metricsPort;
    const passes = (result: string) =>
      metric(port, 'flashline_reconciler_passes_total', { result, kind: 'routine' });
    await waitFor(async () => (await passes('ok')) >= 2, { what: 'passes while Redis answers' });

    redis.pause();
    const failedBefore = await passes('failed');
    await waitFor(async () => (await passes('failed')) >= failedBefore + 2, {
      timeoutMs: 15_000,
      what: 'passes failing while Redis is stalled',
    });

    redis.resume();
    const okAfterResume = await passes('ok');
    await waitFor(async () => (await passes('ok')) >= okAfterResume + 2, {
      timeoutMs: 15_000,
      what: 'passes succeeding again once Redis answers',
    });
    // The sale the passes look after is loaded.
    expect(await redis.cli('HGET', `${env.config.redis.prefix}:{sale:1}:sale`, 'remaining')).toBe(
      '10',
    );
  });
});
