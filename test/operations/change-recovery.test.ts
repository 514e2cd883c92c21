import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, deleteRunKeys, waitFor, type TestEnv } from '../support/env.js';
import {
  client,
  groupByStatus,
  pool,
  startSystem,
  type Client,
  type System,
} from '../support/system.js';
import { assertOracle, type Answer } from '../support/oracle.js';
import { settleFast, startTestCompensator, type RunningCompensator } from '../support/failures.js';
import { adminOf } from '../support/admin.js';
import { Gate, gateOptions } from '../../src/gate/gate.js';
import { createRedis, type RedisClient } from '../../src/redis/connection.js';

// A change holds across Redis loss (the recovery loads the sale as last changed), and across
// the crash windows between PostgreSQL's commit and the gate (docs/sale-changes.md): the
// reconciler applies PostgreSQL's settings where Redis holds others.
describe('a changed sale across Redis loss and crashes', () => {
  let env: TestEnv;
  let sut: System;
  let api: Client;
  let admin: ReturnType<typeof adminOf>;
  let compensator: RunningCompensator;
  let redis: RedisClient;
  let db: pg.Client;

  beforeAll(async () => {
    env = await createTestEnv('change-recovery', settleFast);
    sut = await startSystem(env);
    compensator = await startTestCompensator(env);
    api = client(sut.baseUrl, env);
    admin = adminOf(api, env);
    redis = createRedis(env.config);
    db = new pg.Client({ connectionString: env.config.database.url });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
    redis?.disconnect();
    await compensator?.stop();
    await sut?.stop();
    await env?.cleanup();
  });

  const buy = (saleId: number, buyers: string[]) =>
    pool(
      buyers.map((buyer) => async (): Promise<Answer> => {
        const answer = await api.purchase(saleId, buyer);
        return { status: answer.status, orderId: answer.body?.orderId, buyer, quantity: 1 };
      }),
      8,
    );
  const named = (tag: string, n: number) => Array.from({ length: n }, (_, i) => `${tag}-${i}`);

  // Every key of the sale, its shards' included: as if Redis lost it.
  const forget = async (saleId: number) => {
    await deleteRunKeys(`${env.config.redis.prefix}:{sale:${saleId}}*`);
    await deleteRunKeys(`${env.config.redis.prefix}:{sale:${saleId}:shard:*`);
  };

  for (const shards of [1, 4]) {
    it(`loads a sale forgotten by Redis back as last changed (${shards} shards)`, async () => {
      const created = await api.createSale({
        sku: `forget-${shards}`,
        name: 'F',
        stock: 20,
        shards,
      });
      const saleId = created.body.id as number;
      const first = await buy(saleId, named(`f${shards}`, 8));
      await assertOracle(env, saleId, first);
      expect((await admin.change(saleId, { stock: 11 })).status).toBe(200);
      expect((await admin.pause(saleId)).status).toBe(200);
      await forget(saleId);
      await waitFor(
        async () => (await api.purchase(saleId, 'probe')).body.error?.code === 'SALE_PAUSED',
        { timeoutMs: 20_000, what: 'the sale loaded back, paused' },
      );
      expect((await admin.resume(saleId)).status).toBe(200);
      const rest = await buy(saleId, named(`g${shards}`, 6));
      expect(groupByStatus(rest)['202']).toHaveLength(3);
      const result = await assertOracle(env, saleId, [...first, ...rest]);
      expect(result).toMatchObject({ confirmedUnits: 11, failed: 0 });
    });
  }

  it('applies what PostgreSQL committed when the gate missed it, and undoes what it never committed', async () => {
    const created = await api.createSale({ sku: 'crash', name: 'Crash', stock: 10, shards: 2 });
    const saleId = created.body.id as number;
    // The API died after its commit, before the gate: paused, 4 units more.
    await db.query('UPDATE sales SET paused = true, stock = stock + 4 WHERE id = $1', [saleId]);
    const gate = new Gate(redis, gateOptions(env.config));
    await waitFor(async () => await gate.isPaused(saleId), {
      timeoutMs: 10_000,
      what: 'the reconciler to pause the sale',
    });
    expect((await api.purchase(saleId, 'x')).body.error.code).toBe('SALE_PAUSED');
    expect((await api.sale(saleId)).body).toMatchObject({ stock: 14, remaining: 14 });
    // The API died after narrowing the gate, before its commit: PostgreSQL never paused it
    // again, nor took units back.
    await db.query('UPDATE sales SET paused = false WHERE id = $1', [saleId]);
    await waitFor(async () => !(await gate.isPaused(saleId)), {
      timeoutMs: 10_000,
      what: 'resumed',
    });
    const narrowed = { saleId, stock: 6, perUserLimit: 1, endsAt: null, paused: true };
    expect(await gate.applySettings(narrowed, { force: false })).toEqual({ kind: 'changed' });
    await waitFor(
      async () => !(await gate.isPaused(saleId)) && (await gate.remaining(saleId)) === 14,
      { timeoutMs: 10_000, what: "the reconciler to apply PostgreSQL's settings" },
    );
    const answers = await buy(saleId, named('c', 16));
    expect(groupByStatus(answers)['202']).toHaveLength(14);
    expect(await assertOracle(env, saleId, answers)).toMatchObject({
      confirmedUnits: 14,
      failed: 0,
    });
  });
});
