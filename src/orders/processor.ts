import { UnrecoverableError, type Job } from 'bullmq';
import type { Logger } from '../observability/logger.js';
import type { Database } from '../db/client.js';
import type { Gate } from '../gate/gate.js';
import { orderMessageSchema, type OrderMessage } from '../broker/messages.js';
import { insertConfirmedOrder, findOrder, type OrderToWrite } from '../db/orders-repository.js';
import { PermanentError } from '../errors/permanent-error.js';
import { TransientError } from '../errors/transient-error.js';
import { classifyError, errorReason, type ErrorClass } from '../errors/classify.js';

export type JobOutcome = 'confirmed' | 'already_confirmed' | 'gone' | 'failed_elsewhere';

export type ProcessorDeps = {
  // The gate itself, or the worker's ReservationBatcher that batches these two calls.
  gate: Pick<Gate, 'claim' | 'confirm'>;
  db: Database;
  logger: Logger;
  // Hands an order that failed for good to the compensator; must be durable when it resolves.
  deadLetter: (order: OrderMessage, reason: string, attempts: number) => Promise<void>;
  faultFailRate?: number;
  // Writes the confirmed order with insertConfirmedOrder's contract; the worker passes its
  // group-commit batcher here. Defaults to insertConfirmedOrder itself.
  writeConfirmed?: (order: OrderToWrite) => Promise<boolean>;
  onFailure?: (errorClass: ErrorClass, final: boolean) => void;
};

// The DESIGN.md worker: claim the reservation, write the order (first write wins, the
// database guards stock and the buyer's limit), then confirm the reservation. Every step is
// repeatable, so a job that runs again after a crash at any point changes nothing twice.
export async function processOrder(deps: ProcessorDeps, data: unknown): Promise<JobOutcome> {
  const parsed = orderMessageSchema.safeParse(data);
  if (!parsed.success) throw new PermanentError('bad_payload', 'order job data fails its schema');
  const order = parsed.data;

  const claim = await deps.gate.claim(order.saleId, order.orderId);
  switch (claim) {
    case 'gone':
      return 'gone';
    case 'confirmed':
      return 'already_confirmed';
    case 'unknown':
      throw new PermanentError('reservation_unknown', 'no reservation for this order');
    case 'go':
      break;
  }

  if (deps.faultFailRate && Math.random() < deps.faultFailRate) {
    throw new PermanentError('fault_injected', 'FAULT_FAIL_RATE chose this order to fail');
  }

  const toWrite: OrderToWrite = {
    id: order.orderId,
    saleId: order.saleId,
    userId: order.userId,
    quantity: order.quantity,
    reservedAt: new Date(order.reservedAt),
  };
  const inserted = deps.writeConfirmed
    ? await deps.writeConfirmed(toWrite)
    : await insertConfirmedOrder(deps.db, toWrite);
  if (!inserted) {
    const existing = await findOrder(deps.db, order.orderId);
    // The compensator wrote `failed` first: it owns returning the stock.
    if (existing?.status === 'failed') return 'failed_elsewhere';
  }
  const confirmed = await deps.gate.confirm(order.saleId, order.orderId);
  if (confirmed === 'released') {
    deps.logger.error(
      { orderId: order.orderId },
      'order committed but its reservation was released',
    );
  }
  return inserted ? 'confirmed' : 'already_confirmed';
}

// Wraps processOrder for BullMQ: permanent errors, and the last transient attempt, go to the
// dead-letter queue before the job fails, so a job never fails without its order being
// handed on. A permanent error ends retries through UnrecoverableError.
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
      const order = orderMessageSchema.safeParse(job.data);
      if (order.success) {
        try {
          await deps.deadLetter(order.data, reason, attempts);
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
