import type { Channel, ConsumeMessage } from 'amqplib';
import type { Queue } from 'bullmq';
import type { Logger } from '../observability/logger.js';
import type { BrokerConnection } from '../broker/connection.js';
import { topology } from '../broker/topology.js';
import { decode, orderMessageSchema } from '../broker/messages.js';
import { activeTraceparent, withProcessSpan } from '../observability/trace-context.js';
import type { OrderJobData } from '../orders/queue.js';

export type BridgeCounters = {
  forwarded: () => void;
  failed: (reason: 'unparseable' | 'enqueue_failed') => void;
};

type Pending = {
  channel: Channel;
  message: ConsumeMessage;
  data: OrderJobData;
  // Settles once the message is acked or handed back.
  done: () => void;
};

// Moves orders from RabbitMQ into BullMQ. A message is acked only after its job is stored
// in Redis; if the bridge dies before that, RabbitMQ redelivers it and `jobId = orderId`
// makes the second add a no-op. The messages that arrive while a bulk is being stored are
// added together in the next one (one Redis round trip, one ack for all). Bulks are stored
// one after the other, so when one is stored every message delivered before its last one
// is settled already: acking that last one with `multiple` acks exactly this bulk.
export class Bridge {
  private consumerTag: string | null = null;
  private readonly inFlight = new Set<Promise<void>>();
  private stopping = false;
  private pending: Pending[] = [];
  private storing = false;
  private scheduled = false;

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
    // The span lasts until the bulk holding this order is stored and acked.
    await withProcessSpan(traced, message.properties.headers, () => {
      // The job carries this span's context on to the worker (jobs have no headers).
      const traceparent = activeTraceparent() ?? order.traceparent;
      return new Promise<void>((done) => {
        this.pending.push({ channel, message, data: { ...order, traceparent }, done });
        this.storeSoon();
      });
    });
  }

  private storeSoon(): void {
    if (this.storing || this.scheduled) return;
    this.scheduled = true;
    // After this turn's deliveries: the messages that arrived together go in one bulk.
    setImmediate(() => {
      this.scheduled = false;
      void this.storeAll();
    });
  }

  private async storeAll(): Promise<void> {
    if (this.storing) return;
    this.storing = true;
    try {
      while (this.pending.length > 0) {
        // A bulk acks on one channel: messages of a channel since closed go on their own.
        const channel = this.pending[0]!.channel;
        const end = this.pending.findIndex((p) => p.channel !== channel);
        const bulk = this.pending.splice(0, end === -1 ? this.pending.length : end);
        await this.store(channel, bulk);
      }
    } finally {
      this.storing = false;
    }
  }

  private async store(channel: Channel, bulk: Pending[]): Promise<void> {
    const last = bulk[bulk.length - 1]!.message;
    try {
      await this.queue.addBulk(
        bulk.map(({ data }) => ({ name: 'order', data, opts: { jobId: data.orderId } })),
      );
      for (let i = 0; i < bulk.length; i++) this.counters.forwarded();
      this.settle(channel, () => channel.ack(last, true));
    } catch (error) {
      for (let i = 0; i < bulk.length; i++) this.counters.failed('enqueue_failed');
      this.logger.warn(
        { err: error, orders: bulk.length, orderId: bulk[0]!.data.orderId },
        'enqueue failed; requeueing',
      );
      // Wait before handing them back, or a Redis outage becomes a hot redelivery loop.
      await new Promise((resolve) => setTimeout(resolve, this.retryDelayMs));
      this.settle(channel, () => channel.nack(last, true, true));
    }
    for (const { done } of bulk) done();
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
