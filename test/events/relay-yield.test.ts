import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestEnv, waitFor, type TestEnv } from '../support/env.js';
import { bindEventsQueue, readEventsQueue, type Published } from '../support/events.js';
import { sql } from '../support/payments.js';
import { createBullRedis, type RedisClient } from '../../src/redis/connection.js';
import { bullPrefix, orderQueueNames } from '../../src/queues/names.js';
import { startEvents } from '../../src/cmd/wiring/events.js';

const maxDeferMs = 3000;

// docs/order-events.md, Where it runs: while the drain has EVENTS_YIELD_BACKLOG order jobs
// waiting, the relay publishes nothing, until the drain caught up or it waited
// EVENTS_YIELD_MAX_MS, then publishes until the drain caught up. The events process as it
// runs (no webhooks), outbox rows written as the trigger writes them, the drain's backlog
// stood for by ids in its queue's wait list (no worker).
let env: TestEnv;
let redis: RedisClient;
let events: Awaited<ReturnType<typeof startEvents>>;
let waitList: string;
const published: Published[] = [];

beforeAll(async () => {
  env = await createTestEnv('relayyield', {
    EVENTS_YIELD_BACKLOG: '50',
    EVENTS_YIELD_CHECK_MS: '50',
    EVENTS_YIELD_MAX_MS: String(maxDeferMs),
  });
  await bindEventsQueue(env.config.amqp.url);
  redis = createBullRedis(env.config);
  waitList = `${bullPrefix(env.config)}:${orderQueueNames(env.config)[0]}:wait`;
  events = await startEvents(env.config, env.logger.child({ proc: 'events' }));
});
afterAll(async () => {
  await events?.stop();
  redis?.disconnect();
  await env?.cleanup();
});

let next = 0;
const outbox = async (count: number) => {
  const ids = Array.from({ length: count }, () => `o-${(next += 1)}`);
  await sql(
    env,
    `INSERT INTO order_events (order_id, sale_id, status, user_id, quantity, order_created_at)
     SELECT id, 1, 'confirmed', 'u-1', 1, now() FROM unnest($1::text[]) AS id`,
    [ids],
  );
  return ids;
};
const arrived = async (ids: string[]) => {
  published.push(...(await readEventsQueue(env.config.amqp.url)));
  return ids.every((id) => published.some((p) => p.body.order.orderId === id));
};
const backlog = (orders: number) =>
  redis.rpush(waitList, ...Array.from({ length: orders }, (_, i) => `order-${i}`));
// flashline_events_drain_behind as the events process's metrics endpoint shows it.
const behindMetric = async () => {
  const text = await (await fetch(`http://127.0.0.1:${events.metricsPort}/metrics`)).text();
  return /^flashline_events_drain_behind(?:{[^}]*})? (\S+)$/m.exec(text)?.[1];
};
// The watch reads the backlog every 50 ms: a few readings later it has seen a change.
const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

it('publishes nothing while the drain is behind, and all once it caught up', async () => {
  await waitFor(async () => arrived(await outbox(3)), { timeoutMs: 5000, what: 'a first pass' });
  await backlog(60);
  await settle();
  const held = await outbox(5);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  expect(await arrived(held)).toBe(false);
  expect(await behindMetric()).toBe('1');
  expect(published.filter((p) => held.includes(p.body.order.orderId))).toEqual([]);
  await redis.del(waitList);
  const caughtUp = Date.now();
  await waitFor(async () => arrived(held), { timeoutMs: 3000, what: 'the held events' });
  expect(Date.now() - caughtUp).toBeLessThan(2000);
  expect(await behindMetric()).toBe('0');
});

it('publishes after EVENTS_YIELD_MAX_MS of waiting, drain behind or not', async () => {
  // A pass after the first test's drain caught up ended that wait: this one starts afresh.
  await settle();
  await backlog(60);
  await settle();
  const held = await outbox(5);
  const written = Date.now();
  await waitFor(async () => arrived(held), { timeoutMs: 10_000, what: 'the held events' });
  const waited = Date.now() - written;
  expect(waited).toBeGreaterThanOrEqual(maxDeferMs - 1000);
  expect(waited).toBeLessThan(maxDeferMs + 3000);
  // The relay goes on while the drain is still behind: the next rows wait for no second hold.
  const after = await outbox(3);
  const again = Date.now();
  await waitFor(async () => arrived(after), { timeoutMs: 5000, what: 'the events after' });
  expect(Date.now() - again).toBeLessThan(1500);
  await redis.del(waitList);
});
