import pg from 'pg';
import { Redis } from 'ioredis';
import { expect } from 'vitest';
import { createTestEnv, type TestEnv } from './env.js';
import { client, startSystem } from './system.js';
import { saleKeys } from '../../src/gate/keys.js';

type Answer = { status: number; headers: Headers; body: unknown };

// Asserts the contract's error answer: the status, JSON, and exactly
// {"error": {"code", "message"}} with a message that names no internals.
export function expectError(answer: Answer, status: number, code: string): void {
  expect({ status: answer.status, body: answer.body }).toMatchObject({
    status,
    body: { error: { code } },
  });
  expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
  const body = answer.body as { error: Record<string, unknown> };
  expect(Object.keys(body).sort()).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message']);
  expect(body.error.message).toEqual(expect.any(String));
  expectNoInternals(JSON.stringify(body));
}

// Stack frames, file paths, SQL and driver messages never reach a client.
export function expectNoInternals(text: string): void {
  expect(text).not.toMatch(
    /\bat .+:\d+:\d+|node_modules|\/src\/|\.ts\b|Failed query|select |insert |ECONN|ioredis|drizzle|stack/i,
  );
}

export type StockState = {
  sales: Record<string, unknown>[];
  orders: number;
  saleBuyers: number;
  redis: Record<
    number,
    { remaining: string | null; held: Record<string, string>; inflight: number }
  >;
  reservations: number;
  idempotencyKeys: number;
};

async function countKeys(redis: Redis, pattern: string): Promise<number> {
  let count = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    count += keys.length;
  } while (cursor !== '0');
  return count;
}

// Everything a purchase could change, in PostgreSQL and in the gate's Redis state.
export async function stockState(env: TestEnv, saleIds: number[]): Promise<StockState> {
  const db = new pg.Client({ connectionString: env.config.database.url });
  const redis = new Redis(env.config.redis.url);
  await db.connect();
  try {
    const sales = (
      await db.query(
        'SELECT id, sku, stock, sold, per_user_limit, starts_at, ends_at, updated_at FROM sales ORDER BY id',
      )
    ).rows as Record<string, unknown>[];
    const orders = Number((await db.query('SELECT count(*) AS n FROM orders')).rows[0].n);
    const saleBuyers = Number((await db.query('SELECT count(*) AS n FROM sale_buyers')).rows[0].n);
    const perSale: StockState['redis'] = {};
    for (const saleId of saleIds) {
      const keys = saleKeys(env.config.redis.prefix, saleId);
      perSale[saleId] = {
        remaining: await redis.hget(keys.sale, 'remaining'),
        held: await redis.hgetall(keys.held),
        inflight: await redis.zcard(keys.inflight),
      };
    }
    const prefix = env.config.redis.prefix;
    return {
      sales,
      orders,
      saleBuyers,
      redis: perSale,
      reservations: await countKeys(redis, `${prefix}:{sale:*}:res:*`),
      idempotencyKeys: await countKeys(redis, `${prefix}:{sale:*}:idem:*`),
    };
  } finally {
    await db.end();
    redis.disconnect();
  }
}

export type RawAnswer = {
  status: number;
  headers: Headers;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read loosely shaped JSON bodies
  body: any;
};

// One HTTP request with the body sent exactly as given (the system client JSON-encodes).
export async function sendRaw(
  baseUrl: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<RawAnswer> {
  const response = await fetch(`${baseUrl}${path}`, { method, headers, body });
  const text = await response.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = text;
  }
  return { status: response.status, headers: response.headers, text, body: parsed };
}

// The pipeline a contract test runs against, with one open sale of 100 units (2 per buyer).
export async function startContractSystem(name: string) {
  const env = await createTestEnv(name);
  const sut = await startSystem(env);
  const api = client(sut.baseUrl, env);
  const createOpenSale = async (sku: string, stock: number, perUserLimit = 1) => {
    const created = await api.createSale({ sku, name: sku, stock, perUserLimit });
    expect(created.status).toBe(201);
    return created.body.id as number;
  };
  const openSaleId = await createOpenSale(`${name}-open`, 100, 2);
  return { env, sut, api, openSaleId, createOpenSale };
}
