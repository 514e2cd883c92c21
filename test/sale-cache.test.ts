import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { createTestEnv, waitFor, type TestEnv } from './support/env.js';
import { client, type Client } from './support/system.js';
import { spawnApi, type ApiProcess } from './support/api-process.js';
import { assertOracle, type Answer } from './support/oracle.js';
import { startApi } from '../src/cmd/wiring/api.js';
import { startBridge } from '../src/cmd/wiring/bridge.js';
import { startWorker } from '../src/cmd/wiring/worker.js';
import { createDatabase, type Database } from '../src/db/client.js';
import { insertFailedOrder } from '../src/db/orders-repository.js';
import { createRedis } from '../src/redis/connection.js';
import { Gate, gateOptions } from '../src/gate/gate.js';
import { saleEventsChannel } from '../src/gate/keys.js';

const cacheAnswers = 'flashline_sale_cache_answers_total';

// the local sold-out cache across API processes
let env: TestEnv;
let a: ApiProcess;
let b: ApiProcess;
let db: Database;
let redis: Redis;
let gate: Gate;
let saleId: number;
const answers: Answer[] = [];
let buyerSeq = 0;

beforeAll(async () => {
  // Only events may change a flag here: the periodic re-read is pushed out of the test.
  env = await createTestEnv('salecache', { SALE_CACHE_REFRESH_MS: '600000' });
  [a, b] = await Promise.all([spawnApi(env), spawnApi(env)]);
  db = createDatabase(env.config.database.url, 2);
  // One server here (REDIS_URL), so the client is a plain Redis.
  redis = createRedis(env.config) as Redis;
  gate = new Gate(redis, gateOptions(env.config));
});
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await db?.$client.end();
  redis?.disconnect();
  await env?.cleanup();
});

const buy = async (api: Client, prefix: string, extra: Record<string, string> = {}) => {
  const buyer = `${prefix}-${buyerSeq++}`;
  const answer = await api.purchase(saleId, buyer, { quantity: 1 }, extra);
  answers.push({ status: answer.status, orderId: answer.body?.orderId, buyer, quantity: 1 });
  return answer;
};

// The compensator's two steps: first-write `failed`, then return the stock with force.
const compensate = async (answer: Answer) => {
  const reservation = await gate.reservation(saleId, answer.orderId!);
  expect(reservation?.state).toBe('pending');
  const order = {
    id: answer.orderId!,
    saleId,
    userId: answer.buyer,
    quantity: 1,
    reservedAt: reservation!.reservedAt,
  };
  expect(await insertFailedOrder(db, order, 'compensated_in_test')).toBe(true);
  const released = await gate.release(saleId, order.id, 'compensated_in_test', { force: true });
  expect(released.kind).toBe('released');
};

const expectSoldOutFromMemory = async (api: Client, process: ApiProcess) => {
  // The first answers may still come from Redis while the process reads the sale.
  await waitFor(
    async () => {
      const before = await process.metric(cacheAnswers, { outcome: 'sold_out' });
      const answer = await buy(api, 'probe');
      expect(answer.body.error?.code).toBe('SOLD_OUT');
      return (await process.metric(cacheAnswers, { outcome: 'sold_out' })) > before;
    },
    { timeoutMs: 10_000, what: 'a sold-out answer from the cache' },
  );
  const before = await process.metric(cacheAnswers, { outcome: 'sold_out' });
  for (let i = 0; i < 10; i++) {
    const answer = await buy(api, 'storm');
    expect(answer.status).toBe(409);
    expect(answer.body.error?.code).toBe('SOLD_OUT');
  }
  expect(await process.metric(cacheAnswers, { outcome: 'sold_out' })).toBe(before + 10);
};

it('answers SOLD_OUT from memory in each process, and stock returned reopens every one', async () => {
  const apiA = client(a.baseUrl, env);
  const apiB = client(b.baseUrl, env);
  const created = await apiA.createSale({ sku: 'cache-2', name: 'Two', stock: 2 });
  expect(created.status).toBe(201);
  saleId = created.body.id as number;

  const first = await buy(apiA, 'first');
  const second = await buy(apiB, 'second');
  expect([first.status, second.status]).toEqual([202, 202]);
  await expectSoldOutFromMemory(apiA, a);
  await expectSoldOutFromMemory(apiB, b);

  // No worker runs yet, so both reservations are still pending: give both units back.
  for (const answer of answers.filter((x) => x.status === 202)) await compensate(answer);

  // Each process must sell one of the two units again. Nothing re-reads the sale on a
  // timer in this test, so a process that missed the reopening would answer 409 forever.
  for (const api of [apiB, apiA]) {
    await waitFor(async () => (await buy(api, 'again')).status === 202, {
      timeoutMs: 10_000,
      what: 'a 202 once the stock is back',
    });
  }
  await expectSoldOutFromMemory(apiA, a);
  await expectSoldOutFromMemory(apiB, b);
});

it('ignores an event older than the state it holds', async () => {
  const apiA = client(a.baseUrl, env);
  // A stale "reopened" (counter 1) arriving after the sale sold out again (counter 3).
  await redis.publish(saleEventsChannel(env.config.redis.prefix), `${saleId} 1 2`);
  await expectSoldOutFromMemory(apiA, a);
});

it('teaches a process started after the sell-out, which then answers without Redis', async () => {
  const late = await startApi(env.config, env.logger.child({ proc: 'late-api' }));
  try {
    const api = client(`http://127.0.0.1:${late.port}`, env);
    const metric = async () => {
      const text = await (await api.raw('GET', '/metrics', {})).body;
      const line = String(text)
        .split('\n')
        .find((l) => l.startsWith(`${cacheAnswers}{`) && l.includes('outcome="sold_out"'));
      return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
    };
    await waitFor(
      async () => {
        expect((await buy(api, 'late')).status).toBe(409);
        return (await metric()) > 0;
      },
      { timeoutMs: 10_000, what: 'the late process to answer from its cache' },
    );

    // Its command connection is gone; the subscriber is not. The cache still answers...
    late.deps.redis.disconnect();
    const cached = await buy(api, 'no-redis');
    expect(cached.status).toBe(409);
    expect(cached.body.error.code).toBe('SOLD_OUT');
    // ...but a request with an Idempotency-Key must ask the gate, which is unreachable.
    const keyed = await buy(api, 'no-redis', { 'idempotency-key': 'k-1' });
    expect(keyed.status).toBe(503);
  } finally {
    await late.stop();
  }
});

it('forgets its flags when the subscription drops, and learns them again', async () => {
  const apiA = client(a.baseUrl, env);
  await expectSoldOutFromMemory(apiA, a);
  const clients = String(await redis.client('LIST'));
  const subscribers = clients
    .split('\n')
    .filter((line) => line.includes(` name=${env.config.redis.prefix}-sale-events `))
    .map((line) => /\bid=(\d+)/.exec(line)![1]!);
  expect(subscribers.length).toBeGreaterThanOrEqual(2);
  for (const id of subscribers) await redis.client('KILL', 'ID', id);

  // Returned while the processes may be reconnecting: the event may never reach them.
  const pending = answers.filter((x) => x.status === 202 && x.buyer.startsWith('again'));
  await compensate(pending[0]!);
  await waitFor(async () => (await buy(apiA, 'after-drop')).status === 202, {
    timeoutMs: 10_000,
    what: 'a 202 after the subscription came back',
  });
  await expectSoldOutFromMemory(apiA, a);
});

it('keeps the core oracle once the pipeline drains', async () => {
  const bridge = await startBridge(env.config, env.logger.child({ proc: 'bridge' }));
  const worker = await startWorker(env.config, env.logger.child({ proc: 'worker' }));
  try {
    // The 503 above reserved nothing; every 202 ends confirmed or failed with stock back.
    const result = await assertOracle(env, saleId, answers);
    expect(result).toMatchObject({ confirmedUnits: 2, confirmed: 2, failed: 3 });
  } finally {
    await bridge.stop();
    await worker.stop();
  }
});
