import pg from 'pg';
import { expect } from 'vitest';
import type { TestEnv } from './env.js';
import { waitFor } from './env.js';
import { gateHomes, type GateHomes } from './shards.js';
import { signPaymentBody } from '../../src/payments/signature.js';
import { createRedis } from '../../src/redis/connection.js';
import type { Answer } from './oracle.js';
import { expectShardsHold, gateRemaining } from './shards.js';

export type WebhookOptions = { secret?: string; signature?: string | null; raw?: string };

// The payment provider: POST /payments/webhook with the raw body signed as API.md says.
export async function payWebhook(
  baseUrl: string,
  env: TestEnv,
  orderId: string,
  paymentId: string,
  { secret = env.config.payment.webhookSecret, signature, raw }: WebhookOptions = {},
) {
  const body = raw ?? JSON.stringify({ orderId, paymentId });
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const sig = signature === undefined ? signPaymentBody(body, secret) : signature;
  if (sig !== null) headers['x-signature'] = sig;
  const response = await fetch(`${baseUrl}/payments/webhook`, { method: 'POST', headers, body });
  const text = await response.text();
  let json: Record<string, unknown> | null = null;
  try {
    json = text ? (JSON.parse(text) as Record<string, unknown>) : null;
  } catch {
    json = null;
  }
  return {
    status: response.status,
    body: json as { error?: { code: string } } & Record<string, unknown>,
  };
}

export type OrderRowRead = {
  id: string;
  user_id: string;
  quantity: number;
  status: string;
  pay_by: Date | null;
  payment_id: string | null;
  returned_at: Date | null;
  updated_at: Date;
  created_at: Date;
  // paid_at < pay_by, compared in PostgreSQL at the microseconds it keeps: a Date's
  // milliseconds can make the two equal.
  paid_in_window: boolean | null;
};

export async function orderRows(env: TestEnv, saleId: number): Promise<OrderRowRead[]> {
  const db = new pg.Client({ connectionString: env.config.database.url });
  await db.connect();
  try {
    return (
      await db.query(
        `SELECT id, user_id, quantity, status, pay_by, payment_id, returned_at, updated_at,
           created_at, paid_at < pay_by AS paid_in_window FROM orders WHERE sale_id = $1`,
        [saleId],
      )
    ).rows as OrderRowRead[];
  } finally {
    await db.end();
  }
}

export async function sql<T = Record<string, unknown>>(
  env: TestEnv,
  text: string,
  values: unknown[] = [],
): Promise<T[]> {
  const db = new pg.Client({ connectionString: env.config.database.url });
  await db.connect();
  try {
    return (await db.query(text, values)).rows as T[];
  } finally {
    await db.end();
  }
}

export type PaymentOracleOptions = {
  timeoutMs?: number;
  // Wait until no order is confirmed-and-unpaid any more (every window closed).
  windowsClosed?: boolean;
};

// The core oracle grown for sales with a payment window (issue #14): every 202 ends
// confirmed, paid, expired, cancelled or failed; at rest remaining == stock - paid -
// confirmed-and-unpaid in Redis and PostgreSQL alike, each buyer holds (in Redis and in
// sale_buyers) exactly their paid and confirmed units, no unit is both paid and returned, and
// every expired or cancelled order's reservation is a tombstone with its return recorded.
export async function assertPaymentOracle(
  env: TestEnv,
  saleId: number,
  answers: Answer[],
  { timeoutMs = 60_000, windowsClosed = false }: PaymentOracleOptions = {},
) {
  const accepted = answers.filter((a) => a.status === 202);
  // Whatever topology the environment runs on (one server, or the CI's cluster leg).
  const redis = createRedis(env.config);
  try {
    const keys = await gateHomes(redis, env.config.redis.prefix, saleId);
    await settled(env, saleId, accepted, keys, { timeoutMs, windowsClosed });

    const rows = await orderRows(env, saleId);
    const [sale] = await sql<{ stock: number; sold: number; per_user_limit: number }>(
      env,
      'SELECT stock, sold, per_user_limit FROM sales WHERE id = $1',
      [saleId],
    );
    const stock = Number(sale!.stock);
    const units = (status: string) =>
      rows.filter((o) => o.status === status).reduce((sum, o) => sum + o.quantity, 0);
    const paid = units('paid');
    const unpaid = units('confirmed');

    expect(
      answers.filter((a) => a.status >= 500 && a.status !== 503),
      'no 5xx but 503',
    ).toEqual([]);
    const byId = new Map(rows.map((o) => [o.id, o]));
    for (const answer of accepted) {
      const row = byId.get(answer.orderId!);
      expect(row, `202 order ${answer.orderId} has a row`).toBeDefined();
      expect(['confirmed', 'paid', 'expired', 'cancelled', 'failed']).toContain(row!.status);
      expect(row!.user_id).toBe(answer.buyer);
    }
    expect(paid + unpaid, 'held units <= stock').toBeLessThanOrEqual(stock);
    expect(Number(sale!.sold), 'sales.sold == paid + confirmed-and-unpaid').toBe(paid + unpaid);
    const { remaining, shards } = await gateRemaining(redis, env.config.redis.prefix, saleId);
    expect(remaining, 'Redis remaining == stock - paid - confirmed-and-unpaid').toBe(
      stock - paid - unpaid,
    );
    if (shards) {
      const holding = rows.filter((o) => o.status === 'paid' || o.status === 'confirmed');
      expectShardsHold(
        shards,
        stock,
        holding.map((o) => o.id),
      );
    }

    await expectHeldPerBuyer(env, saleId, rows, Number(sale!.per_user_limit), keys);

    for (const o of rows) {
      const state = await redis.hget(keys.reservation(o.id), 's');
      if (o.status === 'paid' || o.status === 'confirmed') {
        expect(state, `${o.status} order ${o.id} still holds its units`).toBe('F');
      }
      if (o.status === 'expired' || o.status === 'cancelled' || o.status === 'failed') {
        expect(state, `${o.status} order ${o.id} had its units returned`).toBe('R');
      }
      if (o.status === 'paid') expect(o.payment_id).not.toBeNull();
    }
    return {
      paid,
      unpaid,
      expired: rows.filter((o) => o.status === 'expired').length,
      cancelled: rows.filter((o) => o.status === 'cancelled').length,
      remaining,
    };
  } finally {
    redis.disconnect();
  }
}

// Until every accepted order has ended and every return finished (and, with
// `windowsClosed`, no confirmed order still waits for its payment).
async function settled(
  env: TestEnv,
  saleId: number,
  accepted: Answer[],
  keys: GateHomes,
  { timeoutMs, windowsClosed }: Required<PaymentOracleOptions>,
) {
  await waitFor(
    async () => {
      const rows = await orderRows(env, saleId);
      const ended = new Set(rows.filter((o) => o.status !== 'pending').map((o) => o.id));
      const unreturned = rows.filter(
        (o) => (o.status === 'expired' || o.status === 'cancelled') && !o.returned_at,
      );
      const open = rows.filter((o) => o.status === 'confirmed' && o.pay_by);
      return (
        (await keys.inflight()) === 0 &&
        accepted.every((a) => ended.has(a.orderId!)) &&
        unreturned.length === 0 &&
        (!windowsClosed || open.length === 0)
      );
    },
    {
      timeoutMs,
      intervalMs: 200,
      what: 'every accepted order to settle and every return to finish',
    },
  );
}

// Each buyer holds exactly their paid and confirmed units, in Redis and in sale_buyers.
async function expectHeldPerBuyer(
  env: TestEnv,
  saleId: number,
  rows: Awaited<ReturnType<typeof orderRows>>,
  perUserLimit: number,
  keys: GateHomes,
) {
  const perBuyer = new Map<string, number>();
  for (const o of rows.filter((r) => r.status === 'paid' || r.status === 'confirmed')) {
    perBuyer.set(o.user_id, (perBuyer.get(o.user_id) ?? 0) + o.quantity);
  }
  expect(
    [...perBuyer].filter(([, n]) => n > perUserLimit),
    'no buyer above perUserLimit',
  ).toEqual([]);
  const heldInRedis = Object.entries(await keys.held()).filter(([, n]) => Number(n) > 0);
  expect(
    new Map(heldInRedis.map(([buyer, n]) => [buyer, Number(n)])),
    'Redis held units == paid + confirmed units per buyer',
  ).toEqual(perBuyer);
  const buyerRows = await sql<{ user_id: string; units: number }>(
    env,
    'SELECT user_id, units FROM sale_buyers WHERE sale_id = $1 AND units > 0',
    [saleId],
  );
  expect(
    new Map(buyerRows.map((r) => [r.user_id, Number(r.units)])),
    'sale_buyers units == paid + confirmed units per buyer',
  ).toEqual(perBuyer);
}
