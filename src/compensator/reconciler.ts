import type { Queue } from 'bullmq';
import type { Logger } from '../observability/logger.js';
import type { Database } from '../db/client.js';
import type { Gate } from '../gate/gate.js';
import { listOpenSales } from '../db/sales-repository.js';
import { compensateOrder, type CompensationOutcome } from './compensate.js';
import { readDrift } from './drift.js';

// A job in one of these states will still run: its order is not lost, only late.
const liveJobStates = new Set(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children']);

export type ReconcilerDeps = {
  db: Database;
  gate: Gate;
  queue: Pick<Queue, 'getJobState'>;
  logger: Logger;
  intervalMs: number;
  staleAfterMs: number;
  onOrder: (outcome: CompensationOutcome) => void;
  onDrift: (saleId: number, driftUnits: number) => void;
  onRepair: (saleId: number) => void;
};

// The safety net under the dead-letter path. Each pass: loads open sales missing from Redis,
// fails reservations in flight for too long with no job that will still run them (the API
// died before publishing, a job was lost or failed without its dead letter), and checks
// each open sale's remaining units against PostgreSQL, repairing what it can prove.
export class Reconciler {
  private timer: NodeJS.Timeout | null = null;
  private pass: Promise<void> | null = null;
  private stopped = false;

  constructor(private readonly deps: ReconcilerDeps) {}

  start(): void {
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.pass;
  }

  async runOnce(): Promise<void> {
    const openSales = await listOpenSales(this.deps.db);
    for (const sale of openSales) {
      if ((await this.deps.gate.remaining(sale.id)) === null) {
        await this.deps.gate.loadSale(sale);
        this.deps.logger.warn({ saleId: sale.id }, 'open sale was missing from redis; loaded');
      }
    }
    for (const saleId of await this.deps.gate.saleIds()) await this.failStale(saleId);
    for (const sale of openSales) await this.checkDrift(sale.id);
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.pass = this.runOnce()
        .catch((error: unknown) => this.deps.logger.warn({ err: error }, 'reconciler pass failed'))
        .finally(() => {
          this.pass = null;
          this.schedule(this.deps.intervalMs);
        });
    }, delayMs);
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
    const reading = await readDrift(db, gate, saleId);
    // The sale moved while it was read: the next pass measures again.
    if (!reading) return;
    this.deps.onDrift(saleId, reading.drift);
    if (reading.drift === 0) return;
    const repaired = await gate.repairRemaining(saleId, reading.seen, reading.expected);
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
