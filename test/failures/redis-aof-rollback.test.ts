import { setTimeout as sleep } from 'node:timers/promises';
import { expect, it } from 'vitest';
import { waitFor } from '../support/env.js';
import { faultScenario, lossSale } from '../support/fault-scenario.js';
import { readAof, startRedisServer } from '../support/redis-servers.js';
import { assertRestBuyable, tally } from '../support/buyers.js';
import { assertNothingLost, runRedisLoss } from '../support/redis-loss.js';

// Redis crashes and comes back from its files as they stood a second earlier
// (`appendfsync everysec` on a host crash): every write of that second is gone, while
// RabbitMQ and PostgreSQL remember everything.
const scenario = faultScenario();

it('loses no 202, oversells nothing, buys once per key, and sells the rest again', async () => {
  const redis = await startRedisServer();
  const opened = await scenario.onRedis('redis-aof-rollback', redis.url);
  const sale = await lossSale(opened, ['redis-aof-rollback', 'Rewound'], 400);

  let copiedAt = 0;
  let killedAt = 0;
  const { answers, backAt } = await runRedisLoss(sale, async (buying) => {
    // With the worker behind (a pause, a slow disk), the orders of the lost second exist
    // only as a reservation and a job in Redis, the bridge having acked their messages.
    const copy = await redis.copyAof();
    copiedAt = Date.now();
    await sleep(1000);
    await waitFor(async () => buying.accepted(copiedAt) >= 20, {
      what: () => `purchases accepted after the copy (${buying.tally()})`,
    });
    await redis.kill9();
    killedAt = Date.now();
    // The copy really is older than those 202s: none of their orders is in it.
    const copied = await readAof(copy);
    const before = new Set(
      buying.answers.filter((a) => a.sentAt <= copiedAt).map((a) => a.orderId),
    );
    const after = buying.answers.filter(
      (a) => a.status === 202 && a.sentAt > copiedAt && !before.has(a.orderId),
    );
    expect(after.length, 'orders accepted after the copy').toBeGreaterThan(0);
    expect(
      after.filter((a) => copied.includes(a.orderId!)).map((a) => a.orderId),
      'orders accepted after the copy are absent from it',
    ).toEqual([]);
    await redis.restoreAof(copy);
    await redis.restart();
    // Buyers whose first answer (a 202) Redis has now forgotten press again with their key.
    const forgotten = buying.answers.filter(
      (a) =>
        a.status === 202 &&
        a.idempotencyKey !== undefined &&
        a.sentAt > copiedAt &&
        a.answeredAt < killedAt,
    );
    expect(forgotten.length, 'keyed 202s given after the copy').toBeGreaterThan(0);
    return { backAt: Date.now(), forgotten };
  });
  const afterCopy = answers.filter((a) => a.status === 202 && a.sentAt > copiedAt).length;
  console.log(
    `aof rollback: ${tally(answers)}; 202s after the copy: ${afterCopy}, ` +
      `Redis down ${backAt - killedAt} ms`,
  );

  const first = await assertNothingLost(sale, answers);
  await assertRestBuyable(sale, answers, first.confirmedUnits);
});
