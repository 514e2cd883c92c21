import { UnrecoverableError, type Job } from 'bullmq';
import type { Logger } from '../observability/logger.js';
import type { Database } from '../db/client.js';
import type { Gate } from '../gate/gate.js';
import { orderMessageSchema } from '../broker/messages.js';
import {
  insertConfirmedOrder,
  insertFailedOrder,
  findOrder,
  type OrderToWrite,
} from '../db/orders-repository.js';
import type { RestoreMode } from '../gate/outcomes.js';
import { PermanentError } from '../errors/permanent-error.js';
import { TransientError } from '../errors/transient-error.js';
import { classifyError, errorReason, type ErrorClass } from '../errors/classify.js';
import { restoreModeOf } from './restore-mode.js';
import { finishReturn } from './give-back.js';
import { orderOfJob, type DeadLetterOrder } from './dead-letter.js';

export type JobOutcome =
  | 'confirmed'
  | 'already_confirmed'
  | 'gone'
  | 'failed_elsewhere'
  // Redis had forgotten the reservation and the sale could not take it again.
  | 'refused_after_loss'
  // Its row had already left the payment window as expired or cancelled: its units go back.
  | 'returned_elsewhere';

export type ProcessorDeps = {
  // The gate itself, or the worker's ReservationBatcher that batches these two calls.
  gate: Pick<Gate, 'claim' | 'confirm'>;
  // Re-establishes a reservation Redis forgot (rare: called without batching).
  restorer: Pick<Gate, 'restore'>;
  // Gives back the units of an order whose row expired or was cancelled meanwhile (rare);
  // omitted, the compensator's sweep does it.
  returner?: Pick<Gate, 'returnUnits'>;
  db: Database;
  logger: Logger;
  // Hands an order that failed for good to the compensator (dead-letter.ts).
  deadLetter: DeadLetterOrder;
  faultFailRate?: number;
  // Writes the confirmed order with insertConfirmedOrder's contract; the worker passes its
  // group-commit batcher here. Defaults to insertConfirmedOrder itself.
  writeConfirmed?: (order: OrderToWrite) => Promise<boolean>;
  onFailure?: (errorClass: ErrorClass, final: boolean) => void;
  // Schedules the expiry of an order of a sale with a payment window, once it is written
  // (idempotent: a deterministic job id). `payBy` when the row is known, else the worker
  // estimates it from the sale's window. Omitted: no expiry jobs (the sweep still expires).
  scheduleExpiry?: (order: OrderToWrite, payBy: Date | null | undefined) => Promise<void>;
};

// The DESIGN.md worker: claim the reservation, write the order (first write wins, the
// database guards stock and the buyer's limit), then confirm the reservation. Every step is
// repeatable, so a job that runs again after a crash at any point changes nothing twice.
export async function processOrder(deps: ProcessorDeps, data: unknown): Promise<JobOutcome> {
  const parsed = orderMessageSchema.safeParse(data);
  if (!parsed.success) throw new PermanentError('bad_payload', 'order job data fails its schema');
  const order = parsed.data;
  const toWrite: OrderToWrite = {
    id: order.orderId,
    saleId: order.saleId,
    userId: order.userId,
    quantity: order.quantity,
    reservedAt: new Date(order.reservedAt),
    idempotencyKey: order.idempotencyKey,
    shard: order.shard,
  };

  let claim = await deps.gate.claim(order.saleId, order.orderId);
  if (claim === 'unknown') {
    const reestablished = await reestablish(deps, toWrite);
    if (reestablished !== 'go') return reestablished;
    claim = 'go';
  }
  switch (claim) {
    case 'gone':
      // The units are back already; a row makes the order's end durable (the bridge holds
      // its message until every order in it has one). First write wins.
      await insertFailedOrder(deps.db, toWrite, 'released');
      return 'gone';
    case 'confirmed':
      return 'already_confirmed';
    case 'go':
      break;
  }

  if (deps.faultFailRate && Math.random() < deps.faultFailRate) {
    throw new PermanentError('fault_injected', 'FAULT_FAIL_RATE chose this order to fail');
  }

  const inserted = deps.writeConfirmed
    ? await deps.writeConfirmed(toWrite)
    : await insertConfirmedOrder(deps.db, toWrite);
  let payBy: Date | null | undefined;
  if (!inserted) {
    const existing = await findOrder(deps.db, order.orderId);
    // The compensator wrote `failed` first: it owns returning the stock.
    if (existing?.status === 'failed') return 'failed_elsewhere';
    if (existing?.status === 'expired' || existing?.status === 'cancelled') {
      // Its window closed before this delivery reached Redis: the reservation must not be
      // confirmed now; its units go back (a no-op if they are back already).
      if (deps.returner) await finishReturn({ ...deps, gate: deps.returner }, existing);
      return 'returned_elsewhere';
    }
    payBy = existing?.payBy;
  }
  // Before the confirm: a job whose scheduling failed runs again, and still finds work to do.
  if (deps.scheduleExpiry) await deps.scheduleExpiry(toWrite, payBy);
  const confirmed = await deps.gate.confirm(order.saleId, order.orderId);
  if (confirmed === 'unknown') await restoreOrThrow(deps, toWrite, 'confirmed');
  if (confirmed === 'released') {
    deps.logger.error(
      { orderId: order.orderId },
      'order committed but its reservation was released',
    );
  }
  return inserted ? 'confirmed' : 'already_confirmed';
}

// DESIGN.md, when Redis forgets: a reservation Redis no longer knows is re-established from
// its order, not failed. A row decides first (a confirmed order takes its units back in
// Redis); with no row the job re-reserves from its message, or ends failed with nothing held.
async function reestablish(deps: ProcessorDeps, order: OrderToWrite): Promise<JobOutcome | 'go'> {
  const row = await findOrder(deps.db, order.id);
  const mode = row ? restoreModeOf(row.status) : null;
  if (mode === 'confirmed') {
    await restoreOrThrow(deps, order, 'confirmed');
    return 'already_confirmed';
  }
  if (mode === 'failed') {
    await restoreOrThrow(deps, order, 'failed');
    return row?.status === 'failed' ? 'failed_elsewhere' : 'returned_elsewhere';
  }
  const outcome = await restoreOrThrow(deps, order, 'claim');
  if (outcome === 'restored') {
    deps.logger.warn({ orderId: order.id }, 'reservation lost by redis; re-reserved');
    return 'go';
  }
  if (outcome === 'exists') {
    // Restored meanwhile by another delivery or the sale's loader: claim it as usual.
    const again = await deps.gate.claim(order.saleId, order.id);
    if (again === 'go') return 'go';
    if (again === 'confirmed') return 'already_confirmed';
    throw new TransientError(
      'reservation_unsettled',
      `reservation answered ${again} after restore`,
    );
  }
  deps.logger.warn({ orderId: order.id }, 'reservation lost by redis; no units left, order fails');
  await insertFailedOrder(deps.db, order, 'refused_after_redis_loss');
  return 'refused_after_loss';
}

async function restoreOrThrow(
  deps: ProcessorDeps,
  order: OrderToWrite,
  mode: RestoreMode,
): Promise<'restored' | 'refused' | 'exists'> {
  const [outcome] = await deps.restorer.restore(order.saleId, [
    {
      orderId: order.id,
      buyer: order.userId,
      quantity: order.quantity,
      reservedAtMs: order.reservedAt.getTime(),
      mode,
      shard: order.shard,
    },
  ]);
  if (outcome === 'restored' || outcome === 'refused' || outcome === 'exists') return outcome;
  // The sale is not (yet) back in Redis: it is being loaded, so a retry finds it.
  throw new TransientError('sale_not_loaded', `sale ${order.saleId} answered ${outcome}`);
}

// Wraps processOrder for BullMQ: permanent errors, and the last transient attempt, go to the
// dead-letter queue before the job fails, so a job never fails without its order being
// handed on (a job failed without running is UnrunJobs'). A permanent error ends retries
// through UnrecoverableError.
export function createOrderProcessor(deps: ProcessorDeps) {
  return async (job: Job): Promise<JobOutcome> => {
    try {
      return await processOrder(deps, job.data);
    } catch (error) {
      const errorClass = classifyError(error);
      const attempts = job.attemptsMade + 1;
      const final = errorClass === 'permanent' || attempts >= (job.opts.attempts ?? 1);
      deps.onFailure?.(errorClass, final);
      const reason = errorReason(error);
      const log = { err: error, orderId: job.id, attempts, errorClass, reason };
      if (!final) {
        deps.logger.warn(log, 'order job failed; will retry');
        throw error;
      }
      deps.logger.error(log, 'order job failed for good; dead-lettering');
      const order = orderOfJob(job);
      if (order) {
        try {
          await deps.deadLetter(order, reason, attempts);
        } catch (publishError) {
          // Not handed on: fail this attempt as a retryable one so the job runs again later;
          // if that was its last attempt the reconciler finds the reservation and fails it.
          throw new TransientError('dead_letter_unavailable', 'dead-letter publish failed', {
            cause: publishError,
          });
        }
      }
      throw new UnrecoverableError(
        `${reason}: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  };
}
