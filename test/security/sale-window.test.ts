import amqp from 'amqplib';
import pg from 'pg';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, waitFor, type TestEnv } from '../support/env.js';
import { client, pool, startSystem, type Client, type System } from '../support/system.js';
import { assertOracle, type Answer } from '../support/oracle.js';
import { expectError } from '../support/contract.js';
import { insertConfirmedOrder } from '../../src/db/orders-repository.js';
import { classifyError } from '../../src/errors/classify.js';
import { mintOrderId } from '../../src/gate/order-id.js';
import { topology } from '../../src/broker/topology.js';
import { bullPrefix, orderQueueNames } from '../../src/queues/names.js';
import type { OrderMessage } from '../../src/broker/messages.js';

const hour = 3600_000;

// The driver's error under drizzle's query wrapper, where the SQLSTATE is.
function driverError(error: unknown): { code?: string; constraint?: string } {
  let current = error as { cause?: unknown; code?: string } | undefined;
  while (current && current.code === undefined && current.cause) {
    current = current.cause as typeof current;
  }
  return current as { code?: string; constraint?: string };
}

// sale windows and per-user limits, at the gate and in the database
let env: TestEnv;
let sut: System;
let api: Client;
let db: pg.Client;

beforeAll(async () => {
  // Two attempts: a refused order is dead-lettered quickly whichever class its error gets.
  env = await createTestEnv('salewindow', { JOB_ATTEMPTS: '2' });
  sut = await startSystem(env);
  api = client(sut.baseUrl, env);
  db = new pg.Client({ connectionString: env.config.database.url });
  await db.connect();
});
afterAll(async () => {
  await db?.end();
  await sut?.stop();
  await env?.cleanup();
});

const newSale = async (sku: string, sale: Record<string, unknown>) => {
  const created = await api.createSale({ sku, name: sku, stock: 20, ...sale });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body as { id: number; startsAt: string; endsAt: string | null };
};
const answerOf = async (saleId: number, buyer: string, quantity = 1): Promise<Answer> => {
  const a = await api.purchase(saleId, buyer, { quantity });
  return { status: a.status, orderId: a.body?.orderId, buyer, quantity };
};

describe('at the gate', () => {
  it('opens at startsAt and closes at endsAt', async () => {
    const now = Date.now();
    const sale = await newSale('window-gate', {
      startsAt: new Date(now + 2_500).toISOString(),
      endsAt: new Date(now + 5_000).toISOString(),
    });
    expectError(await api.purchase(sale.id, 'early'), 403, 'SALE_NOT_STARTED');
    const answers: Answer[] = [];
    const opened = await waitFor(
      async () => {
        const a = await answerOf(sale.id, `on-time-${answers.length}`);
        answers.push(a);
        return a.status === 202 && a;
      },
      { what: 'the sale to open', intervalMs: 100 },
    );
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(sale.startsAt));
    expect(answers.slice(0, -1).every((a) => a.status === 403)).toBe(true);
    await waitFor(
      async () => {
        const a = await answerOf(sale.id, `late-${answers.length}`);
        answers.push(a);
        return a.status === 403;
      },
      { what: 'the sale to end', intervalMs: 100 },
    );
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(sale.endsAt!));
    expect(answers.at(-1)!.status).toBe(403);
    expect(opened.status).toBe(202);
    await assertOracle(env, sale.id, answers);
  });

  it('holds each buyer to perUserLimit across requests and under concurrency', async () => {
    const sale = await newSale('limit-gate', { perUserLimit: 3 });
    const answers: Answer[] = [];
    const step = async (buyer: string, quantity: number, status: number) => {
      const a = await answerOf(sale.id, buyer, quantity);
      answers.push(a);
      expect(a.status, `${buyer} buys ${quantity}`).toBe(status);
    };
    await step('steady', 2, 202);
    await step('steady', 2, 409);
    await step('steady', 1, 202);
    await step('steady', 1, 409);
    await step('greedy', 4, 400);

    const racing = await pool(
      Array.from({ length: 12 }, () => () => answerOf(sale.id, 'racer')),
      12,
    );
    answers.push(...racing);
    expect(racing.filter((a) => a.status === 202)).toHaveLength(3);
    expect(racing.filter((a) => a.status === 409)).toHaveLength(9);
    const result = await assertOracle(env, sale.id, answers);
    expect(result.confirmedUnits).toBe(6);
  });
});

describe('in PostgreSQL', () => {
  let sale: { id: number; startsAt: string; endsAt: string | null };
  let starts: number;
  let ends: number;

  beforeAll(async () => {
    starts = Date.now() - hour;
    ends = Date.now() + hour;
    sale = await newSale('window-db', {
      perUserLimit: 3,
      startsAt: new Date(starts).toISOString(),
      endsAt: new Date(ends).toISOString(),
    });
  });

  const insertOrder = (status: string, reservedAt: number) =>
    db.query(
      `INSERT INTO orders (id, sale_id, user_id, quantity, status, reserved_at)
       VALUES ($1, $2, 'direct', 1, $3, $4)`,
      [mintOrderId(sale.id), sale.id, status, new Date(reservedAt)],
    );

  it('refuses a confirmed order reserved outside [startsAt, endsAt) with check_violation', async () => {
    for (const reservedAt of [starts - 1, ends, ends + hour]) {
      const refused = await insertOrder('confirmed', reservedAt).catch((e: unknown) => e);
      expect(refused, new Date(reservedAt).toISOString()).toMatchObject({
        code: '23514',
        constraint: 'orders_within_sale_window',
      });
      expect(classifyError(refused)).toBe('permanent');
    }
    await expect(insertOrder('confirmed', starts)).resolves.toBeDefined();
    await expect(insertOrder('confirmed', ends - 1)).resolves.toBeDefined();
    // A failure may be recorded for any order, whenever it was reserved.
    await expect(insertOrder('failed', ends + hour)).resolves.toBeDefined();
  });

  it('refuses turning an order outside the window into a confirmed one', async () => {
    const orderId = mintOrderId(sale.id);
    await db.query(
      `INSERT INTO orders (id, sale_id, user_id, quantity, status, reserved_at)
       VALUES ($1, $2, 'direct', 1, 'failed', $3)`,
      [orderId, sale.id, new Date(ends + 1)],
    );
    const refused = await db
      .query(`UPDATE orders SET status = 'confirmed' WHERE id = $1`, [orderId])
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: '23514' });
  });

  it('the worker transaction refuses the window and the limit, and rolls back whole', () =>
    workerRefusesWindowAndLimit(sale, starts));
});

describe('through the worker', () => {
  it('an order message reserved outside the window is never confirmed', async () => {
    const sale = await newSale('window-worker', { startsAt: new Date(Date.now() - hour) });
    const gate = sut.api.deps.gate;
    // Two real reservations; one message tells the truth, the other claims a time
    // before the sale opened.
    const publishOrder = async (buyer: string, reservedAt: number) => {
      const orderId = mintOrderId(sale.id);
      const reserved = await gate.reserve({ saleId: sale.id, orderId, buyer, quantity: 1 });
      expect(reserved.kind).toBe('reserved');
      const message: OrderMessage = {
        orderId,
        saleId: sale.id,
        userId: buyer,
        quantity: 1,
        reservedAt: new Date(reservedAt).toISOString(),
      };
      await sut.api.deps.orders.publish(message);
      return orderId;
    };
    const honest = await publishOrder('honest', Date.now());
    const orderId = await publishOrder('forger', Date.now() - 2 * hour);

    const queue = new Queue(orderQueueNames(env.config)[0]!, {
      connection: new Redis(env.config.redis.url, { maxRetriesPerRequest: null }),
      prefix: bullPrefix(env.config),
    });
    const connection = await amqp.connect(env.config.amqp.url);
    const channel = await connection.createChannel();
    try {
      await waitFor(async () => (await queue.getJob(orderId))?.isFailed(), {
        what: 'the order job to fail for good',
      });
      // Handed on for compensation: a dead letter, or (with a compensator running) a
      // failed row with the reservation released.
      await waitFor(
        async () => {
          const letter = await channel.get(topology.deadLetterQueue, { noAck: false });
          if (letter) {
            channel.nack(letter, false, true);
            if (JSON.parse(letter.content.toString()).orderId === orderId) return true;
          }
          const row = await db.query('SELECT status FROM orders WHERE id = $1', [orderId]);
          return row.rows[0]?.status === 'failed';
        },
        { what: 'the order to be dead-lettered' },
      );
      expect((await queue.getJob(orderId))?.failedReason).toMatch(/insert into "orders"/);
      await waitFor(async () => (await queue.getJob(honest))?.isCompleted(), {
        what: 'the honest order to confirm',
      });
      const rows = await db.query('SELECT id, status FROM orders WHERE sale_id = $1', [sale.id]);
      expect(rows.rows.filter((r) => r.status === 'confirmed')).toEqual([
        { id: honest, status: 'confirmed' },
      ]);
      const sold = await db.query('SELECT sold FROM sales WHERE id = $1', [sale.id]);
      expect(sold.rows[0].sold).toBe(1);
    } finally {
      await channel.close();
      await connection.close();
      await queue.close();
      await (await queue.client).quit();
    }
  });
});

async function workerRefusesWindowAndLimit(sale: { id: number }, starts: number) {
  const soldBefore = (await db.query('SELECT sold FROM sales WHERE id = $1', [sale.id])).rows[0]
    .sold;
  const write = (userId: string, quantity: number, reservedAt: number) =>
    insertConfirmedOrder(sut.api.deps.db, {
      id: mintOrderId(sale.id),
      saleId: sale.id,
      userId,
      quantity,
      reservedAt: new Date(reservedAt),
    }).catch((e: unknown) => e);

  const outside = await write('window-buyer', 1, starts - hour);
  expect(driverError(outside)).toMatchObject({ code: '23514' });
  expect(classifyError(driverError(outside))).toBe('permanent');

  expect(await write('limit-buyer', 2, Date.now())).toBe(true);
  expect(await write('limit-buyer', 1, Date.now())).toBe(true);
  const overLimit = await write('limit-buyer', 1, Date.now());
  expect(driverError(overLimit)).toMatchObject({
    code: '23514',
    constraint: 'sale_buyers_within_limit',
  });

  const after = await db.query('SELECT sold FROM sales WHERE id = $1', [sale.id]);
  expect(after.rows[0].sold).toBe(soldBefore + 3);
  const rows = await db.query(
    `SELECT user_id, sum(quantity)::int AS units FROM orders
     WHERE sale_id = $1 AND status = 'confirmed' AND user_id <> 'direct' GROUP BY user_id`,
    [sale.id],
  );
  expect(rows.rows).toEqual([{ user_id: 'limit-buyer', units: 3 }]);
}
