import pg from 'pg';
import { Redis } from 'ioredis';
import { expect } from 'vitest';
import type { TestEnv } from './env.js';
import { waitFor } from './env.js';
import { expectShardsHold, gateHomes, gateRemaining } from './shards.js';
import { createRedis, type RedisClient } from '../../src/redis/connection.js';
import { stuckDetails } from './oracle-stuck.js';

export type Answer = {
  status: number;
  orderId?: string;
  buyer: string;
  quantity: number;
  idempotencyKey?: string;
};

export type OracleOptions = {
  timeoutMs?: number;
  // The Redis to read, when it is not the one of REDIS_URL (a Sentinel's current primary).
  // Without it, on a cluster (REDIS_CLUSTER_NODES), the cluster is read.
  redisUrl?: string;
};

async function snapshot(env: TestEnv, saleId: number, redisUrl?: string) {
  const db = new pg.Client({ connectionString: env.config.database.url });
  const redis: RedisClient =
    !redisUrl && env.config.redis.clusterNodes
      ? createRedis(env.config)
      : new Redis(redisUrl ?? env.config.redis.url);
  await db.connect();
  try {
    const keys = await gateHomes(redis, env.config.redis.prefix, saleId);
    const sale = (
      await db.query('SELECT stock, sold, per_user_limit FROM sales WHERE id = $1', [saleId])
    ).rows[0];
    const orders = (
      await db.query('SELECT id, user_id, quantity, status FROM orders WHERE sale_id = $1', [
        saleId,
      ])
    ).rows as {
      id: string;
      user_id: string;
      quantity: number;
      status: string;
    }[];
    const { remaining, shards } = await gateRemaining(redis, env.config.redis.prefix, saleId);
    const inflight = await keys.inflight();
    const held = await keys.held();
    return { sale, orders, remaining, shards, inflight, held, keys, redis };
  } finally {
    await db.end();
    // The redis handle is closed by the caller after reading reservations.
  }
}

// The ids of accepted orders without a final row (none pending).
const unsettledOf = (orders: { id: string; status: string }[], accepted: Answer[]) => {
  const finished = new Set(orders.filter((o) => o.status !== 'pending').map((o) => o.id));
  return accepted.filter((a) => !finished.has(a.orderId!)).map((a) => a.orderId!);
};

// The wait's error, with what the orders still unsettled left behind (./oracle-stuck.ts).
async function timedOut(
  env: TestEnv,
  saleId: number,
  accepted: Answer[],
  error: Error,
  redisUrl?: string,
): Promise<never> {
  const s = await snapshot(env, saleId, redisUrl);
  s.redis.disconnect();
  const unsettled = unsettledOf(s.orders, accepted);
  const details = await stuckDetails(env, saleId, unsettled, redisUrl).catch(String);
  throw new Error(
    `${error.message}: inflight=${s.inflight} rows=${s.orders.length} accepted=${accepted.length}; ` +
      `sale ${JSON.stringify(s.sale)}; orders ${JSON.stringify(s.orders)}; ${details}`,
  );
}

// Waits until nothing is in flight, then asserts the core oracle of the brief:
// confirmed units <= stock; no buyer above perUserLimit; every 202 ends confirmed, or failed
// with its stock returned; at rest Redis remaining == PostgreSQL remaining, nothing pending.
export async function assertOracle(
  env: TestEnv,
  saleId: number,
  answers: Answer[],
  { timeoutMs = 60_000, redisUrl }: OracleOptions = {},
) {
  const accepted = answers.filter((a) => a.status === 202);
  await waitFor(
    async () => {
      const s = await snapshot(env, saleId, redisUrl);
      s.redis.disconnect();
      return s.inflight === 0 && unsettledOf(s.orders, accepted).length === 0;
    },
    { timeoutMs, intervalMs: 200, what: 'every accepted order to settle' },
  ).catch((error: Error) => timedOut(env, saleId, accepted, error, redisUrl));

  const s = await snapshot(env, saleId, redisUrl);
  try {
    const stock = Number(s.sale.stock);
    const limit = Number(s.sale.per_user_limit);
    const confirmed = s.orders.filter((o) => o.status === 'confirmed');
    const confirmedUnits = confirmed.reduce((sum, o) => sum + o.quantity, 0);

    expect(
      answers.filter((a) => a.status >= 500 && a.status !== 503),
      'no 5xx but 503',
    ).toEqual([]);
    expect(confirmedUnits, 'confirmed units <= stock').toBeLessThanOrEqual(stock);
    expect(Number(s.sale.sold), 'sales.sold matches confirmed rows').toBe(confirmedUnits);

    const perBuyer = new Map<string, number>();
    for (const o of confirmed) perBuyer.set(o.user_id, (perBuyer.get(o.user_id) ?? 0) + o.quantity);
    const overLimit = [...perBuyer].filter(([, units]) => units > limit);
    expect(overLimit, 'no buyer above perUserLimit').toEqual([]);

    const byId = new Map(s.orders.map((o) => [o.id, o]));
    for (const answer of accepted) {
      const row = byId.get(answer.orderId!);
      expect(row, `202 order ${answer.orderId} has a row`).toBeDefined();
      expect(['confirmed', 'failed']).toContain(row!.status);
      expect(row!.user_id).toBe(answer.buyer);
      if (row!.status === 'failed') {
        const state = await s.redis.hget(s.keys.reservation(row!.id), 's');
        expect(state, `failed order ${row!.id} had its stock returned`).toBe('R');
      }
    }

    expect(s.inflight, 'no reservation left pending').toBe(0);
    expect(s.remaining, 'Redis remaining == PostgreSQL remaining').toBe(
      stock - Number(s.sale.sold),
    );
    if (s.shards)
      expectShardsHold(
        s.shards,
        stock,
        confirmed.map((o) => o.id),
      );
    const heldInRedis = Object.entries(s.held).filter(([, units]) => Number(units) > 0);
    expect(
      new Map(heldInRedis.map(([buyer, units]) => [buyer, Number(units)])),
      'Redis held units == confirmed units per buyer',
    ).toEqual(perBuyer);
    return {
      confirmedUnits,
      confirmed: confirmed.length,
      failed: s.orders.length - confirmed.length,
    };
  } finally {
    s.redis.disconnect();
  }
}

// An Idempotency-Key buys once: of all the orders its answers named (a retry after Redis
// forgot the key may be given a new order id), at most one ends confirmed in PostgreSQL.
export async function assertOneOrderPerKey(env: TestEnv, saleId: number, answers: Answer[]) {
  const orderIdsByKey = new Map<string, Set<string>>();
  for (const answer of answers) {
    if (answer.idempotencyKey === undefined || answer.orderId === undefined) continue;
    const key = JSON.stringify([answer.buyer, answer.idempotencyKey]);
    const ids = orderIdsByKey.get(key) ?? new Set<string>();
    ids.add(answer.orderId);
    orderIdsByKey.set(key, ids);
  }
  const db = new pg.Client({ connectionString: env.config.database.url });
  await db.connect();
  try {
    const confirmed = new Set(
      (
        await db.query(`SELECT id FROM orders WHERE sale_id = $1 AND status = 'confirmed'`, [
          saleId,
        ])
      ).rows.map((row: { id: string }) => row.id),
    );
    const twice = [...orderIdsByKey]
      .map(([key, ids]) => [key, [...ids].filter((id) => confirmed.has(id))] as const)
      .filter(([, ids]) => ids.length > 1);
    expect(twice, 'no (buyer, Idempotency-Key) with more than one confirmed order').toEqual([]);
    return { keys: orderIdsByKey.size };
  } finally {
    await db.end();
  }
}
