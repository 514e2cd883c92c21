import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'vitest';
import { waitFor } from './env.js';
import { groupByStatus } from './system.js';
import { assertOneOrderPerKey, assertOracle } from './oracle.js';
import { keepBuying, pressOf, tally, type SaleUnderTest, type TimedAnswer } from './buyers.js';
import type { Child } from './processes.js';

// One Redis-loss scenario, the shape the tests of test/failures/redis-*.test.ts and
// test/sharded/sharded-redis-loss.test.ts share: a sale under way, a worker that falls behind
// (so the orders of the lost moment live only in Redis and RabbitMQ), the fault, selling
// resumed, the keyed 202s Redis forgot pressed again, then the core oracle and the proof
// that every unit not sold is buyable again, to the last one.

export type Buying = ReturnType<typeof keepBuying>;

export type Fault = (buying: Buying) => Promise<{
  // When Redis answered again (a restart, a promotion): selling resumes from here.
  backAt: number;
  // The keyed 202s Redis has forgotten: their buyers press again with the same key.
  forgotten: TimedAnswer[];
}>;

export type RedisLossSale = SaleUnderTest & {
  worker: Child;
  gapMs?: number;
};

// Start, fault, resume, re-press: returns every answer and when Redis was back. The worker is
// stopped before the fault and continued after it, whatever the fault throws.
export async function runRedisLoss(sale: RedisLossSale, fault: Fault) {
  const { api, worker, saleId, gapMs = 40 } = sale;
  const buying = keepBuying(api, saleId, pressOf, { lanes: 4, gapMs });
  let backAt = 0;
  try {
    await waitFor(async () => buying.accepted() >= 60, {
      what: () => `the sale under way (${buying.tally()})`,
    });
    worker.kill('SIGSTOP');
    const after = await fault(buying);
    backAt = after.backAt;
    worker.kill('SIGCONT');
    await waitFor(async () => buying.accepted(backAt) > 0, {
      timeoutMs: 15_000,
      what: 'a purchase accepted after Redis came back',
    }).catch(() => undefined);
    for (const a of after.forgotten.filter((x) => x.idempotencyKey !== undefined)) {
      await buying.press({
        buyer: a.buyer,
        quantity: a.quantity,
        idempotencyKey: a.idempotencyKey,
      });
    }
    await sleep(1000);
  } finally {
    worker.kill('SIGCONT');
    await buying.stop();
  }
  const answers = buying.answers;
  const resumed = answers
    .filter((a) => a.status === 202 && a.sentAt >= backAt)
    .map((a) => a.answeredAt - backAt)
    .sort((a, b) => a - b)[0];
  return { answers, backAt, resumed };
}

// Every purchase answered as a loss allows, the core oracle, one order per key.
export async function assertNothingLost(
  sale: RedisLossSale,
  answers: TimedAnswer[],
  allowed = [202, 409, 429, 503],
) {
  const statuses = Object.keys(groupByStatus(answers)).map(Number);
  expect(
    statuses.filter((s) => !allowed.includes(s)),
    `purchases answered ${tally(answers)}`,
  ).toEqual([]);
  const first = await assertOracle(sale.env, sale.saleId, answers, {
    timeoutMs: 30_000,
    ...sale.oracle,
  });
  await assertOneOrderPerKey(sale.env, sale.saleId, answers);
  return first;
}
