import type { Logger } from '../observability/logger.js';
import type { OrderQueues } from '../orders/queue.js';
import type { Database } from '../db/client.js';
import type { Gate } from '../gate/gate.js';
import { listOpenSales } from '../db/sales-repository.js';
import { compensateOrder, type CompensationOutcome } from './compensate.js';
import { readDrift } from './drift.js';
import { sweepShards } from './shard-sweep.js';
import { syncSettings } from './settings-sync.js';
import type { SaleLoader } from '../recovery/sale-loader.js';
import { PeriodicPass } from '../recovery/periodic-pass.js';

// A job in one of these states will still run: its order is not lost, only late.
const liveJobStates = new Set(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children']);

export type PassResult = 'ok' | 'failed';

export type ReconcilerDeps = {
  db: Database;
  gate: Gate;
  loader: SaleLoader;
  // The order's own queue is asked: it is the one its job went to.
  queue: Pick<OrderQueues, 'getJobState'>;
  logger: Logger;
  intervalMs: number;
  staleAfterMs: number;
  // A pass taking longer fails (counted), and the next one tries again.
  passTimeoutMs: number;
  // How far back a repair after a Redis loss looks for orders to restore: the tombstone TTL,
  // since a reservation older than that is gone from Redis by design.
  restoreWindowMs: number;
  onPass?: (result: PassResult, repair: boolean) => void;
  onOrder: (outcome: CompensationOutcome) => void;
  onDrift: (saleId: number, driftUnits: number) => void;
  onRepair: (saleId: number) => void;
};

// The safety net under the dead-letter path. Each pass: loads back open sales missing from
// Redis (or left half-loaded), fails reservations in flight for too long with no job that
// will still run them (the API died before publishing, a job was lost or failed without its
// dead letter), and checks each open sale's remaining units against PostgreSQL, repairing
// what it can prove. After Redis lost state (repairSoon) a pass also restores, for every open
// sale, the reservations of orders PostgreSQL holds, before it checks drift. Every pass runs
// against a deadline; a failed one is counted and the next pass tries again.
export class Reconciler {
  private repairWanted = false;
  private readonly passes: PeriodicPass;

  constructor(private readonly deps: ReconcilerDeps) {
    let repair = false;
    this.passes = new PeriodicPass({
      name: 'reconciler pass',
      intervalMs: deps.intervalMs,
      timeoutMs: deps.passTimeoutMs,
      run: () => {
        repair = this.repairWanted;
        this.repairWanted = false;
        return this.runOnce({ repair });
      },
      done: (error) => {
        if (error === null) return this.deps.onPass?.('ok', repair);
        this.deps.onPass?.('failed', repair);
        this.deps.logger.warn({ err: error, repair }, 'reconciler pass failed');
        // A repair that did not finish is wanted again, at once.
        if (repair) this.repairSoon();
      },
    });
  }

  start(): void {
    this.passes.start();
  }

  async stop(): Promise<void> {
    await this.passes.stop();
  }

  // Redis may have lost state: a repairing pass runs as soon as the current one is done.
  repairSoon(): void {
    this.repairWanted = true;
    this.passes.runSoon();
  }

  async runOnce({ repair = false } = {}): Promise<void> {
    const openSales = await listOpenSales(this.deps.db);
    for (const sale of openSales) {
      const loaded = await this.deps.loader.ensureLoaded(sale);
      if (await syncSettings(this.deps.gate, this.deps.logger, sale)) this.deps.onRepair(sale.id);
      // A sale loaded back just now was restored from PostgreSQL already.
      if (repair && loaded.kind === 'present') {
        const counts = await this.deps.loader.restoreFromDatabase(sale.id, {
          since: new Date(Date.now() - this.deps.restoreWindowMs),
        });
        if (counts.restored + counts.settled > 0) {
          this.deps.logger.warn(
            { saleId: sale.id, ...counts },
            'reservations restored after redis lost state',
          );
        }
      }
    }
    for (const saleId of await this.deps.gate.saleIds()) await this.failStale(saleId);
    for (const sale of openSales) await this.checkDrift(sale.id);
  }

  private async failStale(saleId: number): Promise<void> {
    const { gate, queue, logger } = this.deps;
    const staleBefore = new Date(Date.now() - this.deps.staleAfterMs);
    for (const orderId of await gate.inflightBefore(saleId, staleBefore)) {
      const jobState = await queue.getJobState(orderId);
      if (liveJobStates.has(jobState)) continue;
      const reservation = await gate.reservation(saleId, orderId);
      if (!reservation) continue;
      const order = {
        id: orderId,
        saleId,
        userId: reservation.buyer,
        quantity: reservation.quantity,
        reservedAt: reservation.reservedAt,
      };
      try {
        const outcome = await compensateOrder(this.deps, order, 'stale_reservation');
        logger.warn(
          { orderId, saleId, jobState, outcome: outcome.kind },
          'stale reservation settled',
        );
        this.deps.onOrder(outcome);
      } catch (error) {
        // One order that cannot be settled must not keep the others waiting.
        logger.error({ err: error, orderId, saleId }, 'stale reservation not settled');
      }
    }
  }

  private async checkDrift(saleId: number): Promise<void> {
    const { db, gate, logger } = this.deps;
    // Half loaded back: its remaining is not yet what it will be.
    if (await gate.isLoading(saleId)) return;
    const shards = await gate.shardsOf(saleId);
    if (shards === null) return;
    if (shards > 1) {
      // Over shards a repair is proven one shard at a time, inside its slot; the sale as a
      // whole is then measured, and repaired from its orders below.
      const swept = await sweepShards(db, gate, logger, saleId, shards);
      if (swept.givenBack + swept.retaken + swept.repaired > 0) this.deps.onRepair(saleId);
    }
    const reading = await readDrift(db, gate, saleId);
    // The sale moved while it was read: the next pass measures again.
    if (!reading) return;
    this.deps.onDrift(saleId, reading.drift);
    if (reading.drift === 0) return;
    if (shards > 1) {
      // Which shard is off cannot be told from the sum; what can be is every order PostgreSQL
      // holds: each takes its unit again on its shard where a ledger lost it (idempotent), and
      // the sweep above gave back what no order holds. The next pass measures again.
      const counts = await this.deps.loader.restoreFromDatabase(saleId);
      if (counts.restored + counts.settled > 0) this.deps.onRepair(saleId);
      logger.warn(
        {
          saleId,
          driftUnits: reading.drift,
          remaining: reading.seen.remaining,
          expected: reading.expected,
          ...counts,
        },
        'sale over shards: sum of shards drifted from stock - sold - in flight; orders restored',
      );
      return;
    }
    const repaired = await gate.repairRemaining(saleId, reading.seen, {
      remaining: reading.expected,
      stock: reading.stock,
    });
    if (repaired) this.deps.onRepair(saleId);
    logger.warn(
      {
        saleId,
        driftUnits: reading.drift,
        remaining: reading.seen.remaining,
        expected: reading.expected,
        repaired,
      },
      'sale remaining drifted from stock - sold - in flight',
    );
  }
}
