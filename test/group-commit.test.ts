import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor, type TestEnv } from './support/env.js';
import {
  client,
  groupByStatus,
  pool,
  type System,
  openSystem,
  closeSystem,
} from './support/system.js';
import { assertOracle, type Answer } from './support/oracle.js';
import { createOrderQueues } from '../src/orders/queue.js';
import { createBullRedis } from '../src/redis/connection.js';

describe('group commit in the worker, end to end', () => {
  let env: TestEnv;
  let sut: System;

  beforeAll(async () => {
    ({ env, sut } = await openSystem('groupcommit'));
  });
  afterAll(async () => {
    await closeSystem(sut, env);
  });

  it('confirms a backlog of concurrent jobs in fewer transactions than orders', async () => {
    const api = client(sut.baseUrl, env);
    const created = await api.createSale({ sku: 'group-300', name: 'Group', stock: 300 });
    const saleId = created.body.id as number;

    // Let a backlog build so the worker runs many jobs at once when it resumes.
    await Promise.all(sut.worker.workers.map((w) => w.pause(true)));
    const tasks = Array.from({ length: 360 }, (_, i) => async (): Promise<Answer> => {
      const buyer = `buyer-${i}`;
      const answer = await api.purchase(saleId, buyer);
      return { status: answer.status, orderId: answer.body?.orderId, buyer, quantity: 1 };
    });
    const answers = await pool(tasks, 64);
    const byStatus = groupByStatus(answers);
    expect(byStatus['202']).toHaveLength(300);
    expect(byStatus['409']).toHaveLength(60);

    const redis = createBullRedis(env.config);
    const queue = createOrderQueues(env.config, redis);
    try {
      // The worker may have taken a job or two before the pause reached it.
      await waitFor(
        async () => {
          const counts = await queue.getJobCounts('waiting', 'active', 'completed');
          return (counts.waiting ?? 0) + (counts.active ?? 0) + (counts.completed ?? 0) === 300;
        },
        { what: 'every order queued in BullMQ' },
      );
    } finally {
      await queue.close();
      redis.disconnect();
    }
    for (const w of sut.worker.workers) w.resume();

    const result = await assertOracle(env, saleId, answers);
    expect(result).toMatchObject({ confirmedUnits: 300, confirmed: 300, failed: 0 });
    const stats = sut.worker.batcher.stats;
    expect(stats.orders).toBe(300);
    expect(stats.fallbacks).toBe(0);
    expect(stats.transactions).toBeLessThan(300 / 4);
  });
});
