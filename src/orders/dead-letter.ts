import type { Job } from 'bullmq';
import type { Logger } from '../observability/logger.js';
import type { ConfirmedPublisher } from '../broker/publisher.js';
import { topology } from '../broker/topology.js';
import { orderMessageSchema, type DeadLetter, type OrderMessage } from '../broker/messages.js';
import type { ErrorClass } from '../errors/classify.js';

// Hands an order that failed for good to the compensator; durable when it resolves.
export type DeadLetterOrder = (
  order: OrderMessage,
  reason: string,
  attempts: number,
) => Promise<void>;

// Publishes the order to the dead-letter exchange with a publisher confirm; the message id is
// the order's, so a second dead letter of one order is recognised as such downstream.
export function deadLetterThrough(publisher: Pick<ConfirmedPublisher, 'publish'>): DeadLetterOrder {
  return (order, reason, attempts) => {
    const letter: DeadLetter = { ...order, reason, attempts, failedAt: new Date().toISOString() };
    return publisher.publish(topology.deadLetterExchange, topology.deadLetterRoutingKey, letter, {
      messageId: order.orderId,
    });
  };
}

// The order a job carries, or null when its data is not one (nothing to hand on).
export function orderOfJob(job: Pick<Job, 'data'>): OrderMessage | null {
  const order = orderMessageSchema.safeParse(job.data);
  return order.success ? order.data : null;
}

export type UnrunDeps = {
  deadLetter: DeadLetterOrder;
  logger: Logger;
  onFailure?: ((errorClass: ErrorClass, final: boolean) => void) | undefined;
};

// A job that stalled too often is failed by BullMQ without running the processor: its order
// is handed on as the processor would have (createOrderProcessor). If this publish fails the
// reconciler finds the reservation. Listen with `worker.on('failed', unrun.onFailed)`.
export class UnrunJobs {
  private readonly publishing = new Set<Promise<void>>();

  constructor(private readonly deps: UnrunDeps) {}

  readonly onFailed = (job: Job | undefined): void => {
    if (!job?.deferredFailure) return;
    const order = orderOfJob(job);
    if (!order) return;
    const { deadLetter, logger, onFailure } = this.deps;
    onFailure?.('permanent', true);
    logger.error(
      { orderId: job.id, reason: job.deferredFailure },
      'job failed unrun; dead-lettering',
    );
    const publishing = deadLetter(order, 'stalled', job.attemptsMade).catch((error: unknown) =>
      logger.error({ err: error, orderId: job.id }, 'dead-letter publish failed'),
    );
    this.publishing.add(publishing);
    void publishing.finally(() => this.publishing.delete(publishing));
  };

  // Waits for the dead letters being published (on stop, after the workers closed).
  async drain(): Promise<void> {
    await Promise.allSettled([...this.publishing]);
  }
}
