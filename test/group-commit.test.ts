import { describe, expect, it } from 'vitest';
import { waitFor } from './support/env.js';
import { groupByStatus } from './support/system.js';
import { useSystem } from './support/use-system.js';
import { assertOracle } from './support/oracle.js';
import { buyersNamed, buyOnce } from './support/buyers.js';
import { createOrderQueues } from '../src/orders/queue.js';
import { createBullRedis } from '../src/redis/connection.js';

describe('group commit in the worker, end to end', () => {
  const system = useSystem('groupcommit');

  it('confirms a backlog of concurrent jobs in fewer transactions than orders', async () => {
    const { env, sut, api } = system;
    const created = await api.createSale({ sku: 'group-300', name: 'Group', stock: 300 });
    const saleId = created.body.id as number;

    // Let a backlog build so the worker runs many jobs at once when it resumes.
    await Promise.all(sut.worker.workers.map((w) => w.pause(true)));
    const answers = await buyOnce(api, saleId, buyersNamed('buyer', 360), 64);
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
