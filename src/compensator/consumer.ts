import type { Channel, ConsumeMessage } from 'amqplib';
import type { Logger } from '../observability/logger.js';
import type { BrokerConnection } from '../broker/connection.js';
import type { ConfirmedPublisher } from '../broker/publisher.js';
import { topology } from '../broker/topology.js';
import { Subscription } from '../broker/subscription.js';
import { classifyError, errorReason } from '../errors/classify.js';
import { compensateOrder, type CompensationDeps, type CompensationOutcome } from './compensate.js';
import { readDeadLetter } from './dead-letter.js';

export type DeadLetterResult = CompensationOutcome['kind'] | 'parked' | 'retried';

export type DeadLetterConsumerDeps = {
  broker: BrokerConnection;
  publisher: ConfirmedPublisher;
  compensation: CompensationDeps;
  logger: Logger;
  prefetch: number;
  retryDelayMs: number;
  onResult: (result: DeadLetterResult, unitsReturned: number) => void;
};

// Drains the dead-letter queue. A message is acked only after its order row says failed and
// the reservation is released (or after it is parked), so a crash at any point redelivers
// it, and compensation is idempotent.
export class DeadLetterConsumer {
  private readonly subscription: Subscription;

  constructor(private readonly deps: DeadLetterConsumerDeps) {
    this.subscription = new Subscription(deps.broker, deps.logger, {
      queue: topology.deadLetterQueue,
      prefetch: deps.prefetch,
      name: 'dead-letter consumer',
      handle: (channel, message) => this.handle(channel, message),
    });
  }

  start(): void {
    this.subscription.start();
  }

  // Stops consuming, then waits for the dead letters already taken to be settled.
  async stop(): Promise<void> {
    await this.subscription.stop();
  }

  private async handle(channel: Channel, message: ConsumeMessage): Promise<void> {
    const failedOrders = readDeadLetter(message);
    if (!failedOrders) return this.park(channel, message, 'unparseable');
    // One after the other, the message acked after the last: compensation is idempotent, so
    // a retry of the whole message redoes nothing that was done.
    for (const failed of failedOrders) {
      try {
        const outcome = await compensateOrder(this.deps.compensation, failed.order, failed.reason);
        this.deps.onResult(outcome.kind, outcome.kind === 'returned' ? outcome.units : 0);
      } catch (error) {
        const log = { err: error, orderId: failed.order.id, reason: errorReason(error) };
        if (classifyError(error) === 'permanent') {
          this.deps.logger.error(log, 'dead letter cannot be compensated; parking it');
          return this.park(channel, message, errorReason(error));
        }
        this.deps.logger.warn(log, 'compensation failed; retrying the dead letter later');
        return this.requeueLater(channel, message);
      }
    }
    this.subscription.settle(channel, () => channel.ack(message));
  }

  // Keeps the message, with the reason, where a human can read it; never retried.
  private async park(channel: Channel, message: ConsumeMessage, reason: string): Promise<void> {
    const { properties } = message;
    try {
      await this.deps.publisher.publish('', topology.parkedQueue, message.content, {
        headers: { ...properties.headers, 'x-parked-reason': reason },
        messageId: properties.messageId as string | undefined,
        contentType: properties.contentType as string | undefined,
      });
    } catch (error) {
      this.deps.logger.warn({ err: error }, 'parking failed; retrying the dead letter later');
      return this.requeueLater(channel, message);
    }
    this.deps.logger.warn(
      { messageId: properties.messageId, reason, bytes: message.content.length },
      'dead letter parked',
    );
    this.subscription.settle(channel, () => channel.ack(message));
    this.deps.onResult('parked', 0);
  }

  // Waits before trying again, or an outage of PostgreSQL becomes a hot loop. Tried again
  // from here while the channel lasts, not handed back: on a quorum queue every redelivery
  // counts towards the delivery limit that parks a dead letter, and an outage is not poison.
  private async requeueLater(channel: Channel, message: ConsumeMessage): Promise<void> {
    this.deps.onResult('retried', 0);
    await new Promise((resolve) => setTimeout(resolve, this.deps.retryDelayMs));
    if (!this.subscription.stopping && this.deps.broker.channel === channel)
      return this.handle(channel, message);
    this.subscription.settle(channel, () => channel.nack(message, false, true));
  }
}
