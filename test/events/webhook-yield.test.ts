import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestEnv, waitFor, type TestEnv } from '../support/env.js';
import { startReceiver, type Receiver } from '../support/events.js';
import { createBullRedis, type RedisClient } from '../../src/redis/connection.js';
import { bullPrefix, orderQueueNames } from '../../src/queues/names.js';
import {
  createWebhookQueue,
  enqueueWebhooks,
  startWebhookDispatcher,
  type WebhookQueue,
} from '../../src/events/webhooks.js';
import { drainWatch, type DrainWatch } from '../../src/events/drain-watch.js';
import type { OrderEvent } from '../../src/events/event.js';

const secret = `whsec_${Buffer.from('flashline-test-yield-secret').toString('base64')}`;
const maxDeferMs = 4000;

// docs/order-events.md, Where it runs: while the drain has EVENTS_YIELD_BACKLOG order jobs
// waiting, the webhook dispatcher holds its jobs, until the drain caught up or the oldest
// event waited EVENTS_YIELD_MAX_MS; on the real Redis, with a receiver that verifies each
// signature. The drain's backlog is stood for by ids in its queue's wait list (no worker).
let env: TestEnv;
let redis: RedisClient;
let queue: WebhookQueue;
let receiver: Receiver;
let watch: DrainWatch;
let dispatcher: ReturnType<typeof startWebhookDispatcher>;
let waitList: string;

beforeAll(async () => {
  receiver = await startReceiver(secret);
  env = await createTestEnv('webhookyield', {
    EVENTS_WEBHOOK_URL: receiver.url,
    EVENTS_WEBHOOK_SECRET: secret,
    EVENTS_YIELD_BACKLOG: '50',
    EVENTS_YIELD_CHECK_MS: '50',
    EVENTS_YIELD_MAX_MS: String(maxDeferMs),
  });
  redis = createBullRedis(env.config);
  queue = createWebhookQueue(env.config, redis);
  watch = drainWatch(env.config, redis)!;
  watch.start();
  dispatcher = startWebhookDispatcher(env.config, redis, {
    url: receiver.url,
    secret,
    timeoutMs: 5000,
    concurrency: 4,
    logger: env.logger,
    drain: watch,
  });
  waitList = `${bullPrefix(env.config)}:${orderQueueNames(env.config)[0]}:wait`;
});
afterAll(async () => {
  watch?.stop();
  await dispatcher?.close();
  await queue?.close();
  redis?.disconnect();
  await receiver?.stop();
  await env?.cleanup();
});

const events = (from: number, count: number, occurredAt: number): OrderEvent[] =>
  Array.from({ length: count }, (_, i) => ({
    id: `evt_${from + i}`,
    type: 'order.confirmed',
    occurredAt: new Date(occurredAt).toISOString(),
    order: {
      orderId: `o-${from + i}`,
      saleId: 1,
      userId: `u-${i}`,
      quantity: 1,
      status: 'confirmed',
      createdAt: new Date(occurredAt).toISOString(),
      updatedAt: new Date(occurredAt).toISOString(),
    },
  })) as unknown as OrderEvent[];
const enqueue = (batch: OrderEvent[]) =>
  enqueueWebhooks(queue, redis, batch, { perJob: 100, retentionSeconds: 3600 });
const delivered = (ids: OrderEvent[]) =>
  ids.every((e) => receiver.deliveries.some((d) => d.id === e.id));
const backlog = (orders: number) =>
  redis.rpush(waitList, ...Array.from({ length: orders }, (_, i) => `order-${i}`));
// The watch reads the backlog every 50 ms: a few readings later it has seen a change.
const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

it('holds webhooks while the drain is behind, and sends them once it caught up', async () => {
  await backlog(60);
  await settle();
  const held = events(1, 5, Date.now());
  await enqueue(held);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  expect(receiver.deliveries).toEqual([]);
  await redis.del(waitList);
  const caughtUp = Date.now();
  await waitFor(async () => delivered(held), { timeoutMs: 3000, what: 'the held webhooks' });
  expect(Date.now() - caughtUp).toBeLessThan(2000);
  expect(receiver.unverified).toEqual([]);
});

it('sends a held webhook once its event waited EVENTS_YIELD_MAX_MS, drain behind or not', async () => {
  await backlog(60);
  await settle();
  // Old enough already: it goes at once.
  const late = events(10, 3, Date.now() - maxDeferMs);
  await enqueue(late);
  await waitFor(async () => delivered(late), { timeoutMs: 2000, what: 'the late webhooks' });
  const fresh = events(20, 3, Date.now());
  const queued = Date.now();
  await enqueue(fresh);
  await waitFor(async () => delivered(fresh), { timeoutMs: 10_000, what: 'the fresh webhooks' });
  const waited = Date.now() - queued;
  expect(waited).toBeGreaterThanOrEqual(maxDeferMs - 500);
  expect(waited).toBeLessThan(maxDeferMs + 3000);
  await redis.del(waitList);
});
