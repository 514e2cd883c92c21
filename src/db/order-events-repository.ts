import type pg from 'pg';
import type { Database } from './client.js';
import type { OrderStatus } from './schema.js';

// The outbox's reads and writes (docs/order-events.md). Rows are written by the trigger on
// orders (migrations/0008_order_events.sql), never here.

export type OutboxRow = {
  id: string;
  orderId: string;
  saleId: number;
  status: OrderStatus;
  userId: string;
  quantity: number;
  reason: string | null;
  payBy: Date | null;
  orderCreatedAt: Date;
  occurredAt: Date;
};

type RawRow = {
  id: string;
  order_id: string;
  sale_id: string;
  status: OrderStatus;
  user_id: string;
  quantity: number;
  reason: string | null;
  pay_by: Date | null;
  order_created_at: Date;
  occurred_at: Date;
};

// One relay at a time, whatever the number of processes: the holder of this lock is the only
// one publishing, so events leave in id order. Per transaction, so that a relay whose
// connection or process dies lets go of it with the marks it had not committed.
const relayLock = 0x666c_6576; // "flev"

export type OutboxBatch = {
  rows: OutboxRow[];
  // Marks the rows published and commits; nothing is marked until then.
  commit: () => Promise<void>;
  rollback: () => Promise<void>;
};

// Opens the relay's transaction on a client of its own and reads the oldest unpublished rows;
// null when another relay holds the lock. `idleTimeoutMs` ends a transaction left open by a
// relay that stopped (SIGSTOP, a stall): PostgreSQL then drops it and the lock with it.
// Two round trips a pass: the opening, the lock and the read go as one simple query, and the
// marks with the commit as another. Every value in them is a number this code made or a
// bigint id PostgreSQL returned, so none comes from outside. The rows are read whether or not
// the lock was taken (no branch in one query); without it they are dropped unpublished.
export async function takeOutboxBatch(
  db: Database,
  limit: number,
  idleTimeoutMs: number,
): Promise<OutboxBatch | null> {
  const client = await db.$client.connect();
  let done = false;
  // Releases the client once; one whose connection failed is destroyed, not pooled again.
  const end = async (sql: string | null, failure?: unknown) => {
    if (done) return;
    done = true;
    let broken = failure instanceof Error ? failure : undefined;
    try {
      if (sql) await client.query(sql);
    } catch (error) {
      broken = error instanceof Error ? error : new Error(String(error));
      throw error;
    } finally {
      client.release(broken);
    }
  };
  try {
    const opened = (await client.query(
      openSql(limit, idleTimeoutMs),
    )) as unknown as pg.QueryResult[];
    const locked = (opened[2]?.rows[0] as { locked?: boolean } | undefined)?.locked === true;
    if (!locked) {
      await end('COMMIT');
      return null;
    }
    const rows = (opened[3]?.rows ?? []).map((r) => fromRaw(r as RawRow));
    return {
      rows,
      // A failed mark destroys the connection: PostgreSQL rolls the transaction back.
      commit: () => end(markSql(rows)),
      // A rollback that fails has lost its connection, and the transaction with it.
      rollback: () => end('ROLLBACK').catch(() => undefined),
    };
  } catch (error) {
    // A broken connection is destroyed rather than returned to the pool.
    await end(null, error);
    throw error;
  }
}

const int = (value: number) => String(Math.max(1, Math.ceil(value)));

const openSql = (limit: number, idleTimeoutMs: number) => `BEGIN;
  SET LOCAL idle_in_transaction_session_timeout = ${int(idleTimeoutMs)};
  SELECT pg_try_advisory_xact_lock(${relayLock}) AS locked;
  SELECT id, order_id, sale_id, status, user_id, quantity, reason, pay_by, order_created_at,
    occurred_at
  FROM order_events WHERE published_at IS NULL ORDER BY id LIMIT ${int(limit)}`;

const markSql = (rows: readonly OutboxRow[]) =>
  rows.length === 0
    ? 'COMMIT'
    : `UPDATE order_events SET published_at = now()
       WHERE id = ANY('{${rows.map((row) => BigInt(row.id).toString()).join(',')}}'::bigint[]);
       COMMIT`;

const fromRaw = (r: RawRow): OutboxRow => ({
  id: r.id,
  orderId: r.order_id,
  saleId: Number(r.sale_id),
  status: r.status,
  userId: r.user_id,
  quantity: r.quantity,
  reason: r.reason,
  payBy: r.pay_by,
  orderCreatedAt: r.order_created_at,
  occurredAt: r.occurred_at,
});

// Deletes published rows older than `hours`, at most `limit` of them, oldest first.
export async function pruneOutbox(db: Database, hours: number, limit: number): Promise<number> {
  const result = await db.$client.query(
    `DELETE FROM order_events WHERE id IN (
       SELECT id FROM order_events
       WHERE published_at IS NOT NULL AND published_at < now() - make_interval(hours => $1)
       ORDER BY id LIMIT $2)`,
    [hours, limit],
  );
  return result.rowCount ?? 0;
}

// Rows not yet published, and the age of the oldest (seconds): the relay's backlog.
export async function outboxBacklog(
  db: Database,
): Promise<{ rows: number; oldestSeconds: number }> {
  const result = await db.$client.query<{ rows: string; oldest: number | null }>(
    `SELECT count(*) AS rows, extract(epoch FROM now() - min(occurred_at))::float8 AS oldest
     FROM order_events WHERE published_at IS NULL`,
  );
  const row = result.rows[0];
  return { rows: Number(row?.rows ?? 0), oldestSeconds: Math.max(0, row?.oldest ?? 0) };
}
