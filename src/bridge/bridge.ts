import type { Channel, ConsumeMessage } from 'amqplib';
import type { Queue } from 'bullmq';
import type { Logger } from '../observability/logger.js';
import type { BrokerConnection } from '../broker/connection.js';
import { topology } from '../broker/topology.js';
import { decode, orderMessageSchema, type OrderMessage } from '../broker/messages.js';
import { activeTraceparent, withProcessSpan } from '../observability/trace-context.js';
import type { OrderJobData } from '../orders/queue.js';

export type BridgeCounters = {
  forwarded: () => void;
  failed: (reason: 'unparseable' | 'enqueue_failed') => void;
};

// Moves orders from RabbitMQ into BullMQ. A message is acked only after its job is stored
// in Redis; if the bridge dies before that, RabbitMQ redelivers it and `jobId = orderId`
// makes the second add a no-op.
export class Bridge {
  private consumerTag: string | null = null;
  private readonly inFlight = new Set<Promise<void>>();
  private stopping = false;

  constructor(
    private readonly broker: BrokerConnection,
    private readonly queue: Queue<OrderJobData>,
    private readonly logger: Logger,
    private readonly prefetch: number,
    private readonly counters: BridgeCounters,
    private readonly retryDelayMs = 1_000,
  ) {}

  start(): void {
    this.broker.onChannel(async (channel) => {
      if (this.stopping) return;
      await channel.prefetch(this.prefetch);
      const { consumerTag } = await channel.consume(
        topology.ordersQueue,
        (message) => {
          if (message) this.track(this.forward(channel, message));
          // The broker cancelled this consumer (its queue was deleted): reconnecting
          // declares the queue again and resubscribes.
          else if (!this.stopping) this.broker.reset('order consumer cancelled by the broker');
        },
        { noAck: false },
      );
      this.consumerTag = consumerTag;
    });
  }

  // Stops consuming, then waits for the messages already taken to be stored and acked.
  async stop(): Promise<void> {
    this.stopping = true;
    const channel = this.broker.channel;
    if (channel && this.consumerTag) await channel.cancel(this.consumerTag).catch(() => undefined);
    await Promise.allSettled([...this.inFlight]);
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  private async forward(channel: Channel, message: ConsumeMessage): Promise<void> {
    const order = decode(orderMessageSchema, message.content);
    if (!order) {
      this.counters.failed('unparseable');
      this.logger.warn(
        { orderId: message.properties.messageId },
        'unparseable order dead-lettered',
      );
      this.settle(channel, () => channel.nack(message, false, false));
      return;
    }
    const traced = {
      system: 'rabbitmq',
      destination: topology.ordersQueue,
      orderId: order.orderId,
    };
    await withProcessSpan(traced, message.properties.headers, () =>
      this.enqueue(channel, message, order),
    );
  }

  private async enqueue(channel: Channel, message: ConsumeMessage, order: OrderMessage) {
    try {
      // The job carries this span's context on to the worker (jobs have no headers).
      const traceparent = activeTraceparent() ?? order.traceparent;
      await this.queue.add('order', { ...order, traceparent }, { jobId: order.orderId });
      this.counters.forwarded();
      this.settle(channel, () => channel.ack(message));
    } catch (error) {
      this.counters.failed('enqueue_failed');
      this.logger.warn({ err: error, orderId: order.orderId }, 'enqueue failed; requeueing');
      // Wait before handing it back, or a Redis outage becomes a hot redelivery loop.
      await new Promise((resolve) => setTimeout(resolve, this.retryDelayMs));
      this.settle(channel, () => channel.nack(message, false, true));
    }
  }

  // An ack on a channel that has since closed would throw; the broker redelivers those.
  private settle(channel: Channel, action: () => void): void {
    if (this.broker.channel !== channel) return;
    try {
      action();
    } catch (error) {
      this.logger.warn({ err: error }, 'ack failed; the broker will redeliver');
    }
  }
}
