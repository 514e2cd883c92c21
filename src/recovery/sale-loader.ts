import { randomUUID } from 'node:crypto';
import { and, asc, eq, gt, sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { orders, type OrderStatus, type Sale } from '../db/schema.js';
import type { Gate, OrderToRestore } from '../gate/gate.js';
import type { Logger } from '../observability/logger.js';
import { restoreModeOf } from '../orders/restore-mode.js';
import { finishReturn } from '../orders/give-back.js';
import { shardStocksFor } from './shard-stocks.js';

// Orders read from PostgreSQL and restored in one script call.
const pageSize = 1_000;
// While one process loads a sale the others answer 503 instead of loading it too.
const lockMs = 30_000;

export type RestoreCounts = { orders: number; restored: number; settled: number };

export type LoadResult =
  // The sale was in Redis, fully loaded: nothing to do.
  | { kind: 'present' }
  // This call loaded it back from PostgreSQL.
  | { kind: 'loaded'; counts: RestoreCounts }
  // Another process is loading it.
  | { kind: 'busy' };

// DESIGN.md, when Redis forgets: a sale missing from Redis is loaded back from PostgreSQL
// before it answers buyers again. It is created at its full stock and marked `loading` (the
// gate answers LOADING, the API 503), every order PostgreSQL holds is restored with its units
// (lua/restore-3.lua), and the mark is removed. Redis counts an order's units exactly while
// its reservation exists, so orders restored meanwhile by a worker, or twice by two loaders,
// are counted once, and the orders still in flight are counted as their jobs re-reserve.
export class SaleLoader {
  private readonly loads = new Map<number, Promise<LoadResult>>();

  constructor(
    private readonly db: Database,
    private readonly gate: Gate,
    private readonly logger: Logger,
  ) {}

  // One load per sale at a time in this process; concurrent callers share it.
  ensureLoaded(sale: Sale): Promise<LoadResult> {
    const running = this.loads.get(sale.id);
    if (running) return running;
    const load = this.load(sale).finally(() => this.loads.delete(sale.id));
    this.loads.set(sale.id, load);
    return load;
  }

  private async load(sale: Sale): Promise<LoadResult> {
    const state = await this.gate.saleState(sale.id);
    // A sale over shards is whole only with every shard: one a cluster master forgot is
    // created again and its confirmed orders take their units again (restoreFromDatabase).
    const whole = state !== null && (state.shards ?? []).every((shard) => shard !== null);
    if (whole && !(await this.gate.isLoading(sale.id))) return { kind: 'present' };
    const token = randomUUID();
    if (!(await this.gate.lockLoad(sale.id, token, lockMs))) return { kind: 'busy' };
    try {
      const started = performance.now();
      const shardStocks = await shardStocksFor(this.db, sale);
      await this.gate.loadSale(sale, { restoring: true, ...(shardStocks ? { shardStocks } : {}) });
      const counts = await this.restoreFromDatabase(sale.id);
      await this.gate.finishLoading(sale.id);
      this.logger.warn(
        { saleId: sale.id, ...counts, ms: Math.round(performance.now() - started) },
        'sale was missing from redis; loaded back from postgresql',
      );
      return { kind: 'loaded', counts };
    } finally {
      // Only our own lock: one that expired and was taken by another loader stays theirs.
      await this.gate.unlockLoad(sale.id, token).catch(() => undefined);
    }
  }

  // Makes Redis agree with every order row of the sale: a reservation Redis lost is restored
  // (a confirmed order takes its units again, a failed one leaves a tombstone), one that Redis
  // still has in flight is finished the way its row says, and lost Idempotency-Keys come back.
  // Used by the load above, and after Redis went back in time (an older AOF, a lagging replica).
  async restoreFromDatabase(
    saleId: number,
    { since }: { since?: Date } = {},
  ): Promise<RestoreCounts> {
    const counts: RestoreCounts = { orders: 0, restored: 0, settled: 0 };
    let after = '';
    for (;;) {
      const page = await this.db
        .select({
          id: orders.id,
          userId: orders.userId,
          quantity: orders.quantity,
          status: orders.status,
          reservedAt: orders.reservedAt,
          idempotencyKey: orders.idempotencyKey,
          shard: orders.shard,
        })
        .from(orders)
        .where(
          and(
            eq(orders.saleId, saleId),
            gt(orders.id, after),
            since ? sql`${orders.updatedAt} >= ${since.toISOString()}` : undefined,
          ),
        )
        .orderBy(asc(orders.id))
        .limit(pageSize);
      if (page.length === 0) return counts;
      after = page[page.length - 1]!.id;
      const rows = page.flatMap((row) => {
        const mode = restoreModeOf(row.status);
        return mode ? [{ ...row, mode }] : [];
      });
      const toRestore: OrderToRestore[] = rows.map((row) => ({
        orderId: row.id,
        buyer: row.userId,
        quantity: row.quantity,
        reservedAtMs: row.reservedAt.getTime(),
        mode: row.mode,
        shard: row.shard,
      }));
      const outcomes = await this.gate.restore(saleId, toRestore);
      counts.orders += rows.length;
      counts.restored += outcomes.filter((o) => o === 'restored').length;
      const known = rows.filter((_, i) => outcomes[i] === 'exists');
      counts.settled += await this.settleKnown(saleId, known);
      await this.gate.restoreIdempotencyKeys(
        saleId,
        rows.flatMap((row) =>
          row.idempotencyKey
            ? [{ buyer: row.userId, key: row.idempotencyKey, orderId: row.id }]
            : [],
        ),
      );
      if (page.length < pageSize) return counts;
    }
  }

  // A reservation still in flight whose order already has its row: after a loss its job may
  // be gone too, so it is finished here as the worker or the compensator would have.
  private async settleKnown(
    saleId: number,
    rows: {
      id: string;
      status: OrderStatus;
      userId: string;
      quantity: number;
      reservedAt: Date;
      shard: number | null;
    }[],
  ): Promise<number> {
    let settled = 0;
    // A Redis gone back in time may hold an expired or cancelled order's units again (an F
    // from before its return): only those are returned, one state read for the page.
    const returning = rows.filter((row) => row.status === 'expired' || row.status === 'cancelled');
    const states = await this.gate.reservationStates(
      saleId,
      returning.map((row) => row.id),
    );
    for (const [i, row] of returning.entries()) {
      if (states[i] !== 'confirmed' && states[i] !== 'committing') continue;
      const returned = await finishReturn(
        { db: this.db, gate: this.gate, logger: this.logger },
        { ...row, saleId },
      );
      if (returned.kind === 'returned') settled += 1;
    }
    const confirmed = rows
      .filter((row) => row.status === 'confirmed' || row.status === 'paid')
      .map((row) => row.id);
    const outcomes = await this.gate.confirmMany(saleId, confirmed);
    settled += outcomes.filter((o) => o === 'confirmed').length;
    for (const row of rows) {
      if (row.status !== 'failed') continue;
      const released = await this.gate.release(saleId, row.id, 'failed_restored', { force: true });
      if (released.kind === 'released') settled += 1;
    }
    return settled;
  }
}
