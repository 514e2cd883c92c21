import type { Channel, ConsumeMessage } from 'amqplib';
import type { Queue } from 'bullmq';
import type { Logger } from '../observability/logger.js';
import type { BrokerConnection } from '../broker/connection.js';
import { topology } from '../broker/topology.js';
import { decodeOrders } from '../broker/messages.js';
import { activeTraceparent, withProcessSpan } from '../observability/trace-context.js';
import type { OrderJobData } from '../orders/queue.js';

export type BridgeCounters = {
  forwarded: () => void;
  failed: (reason: 'unparseable' | 'enqueue_failed') => void;
};

export type BridgeOptions = {
  // Messages taken from RabbitMQ and not yet acked.
  prefetch: number;
  // Orders stored in one addBulk (a message is never split, so one may hold more).
  maxBulk: number;
  // Wait before handing back a bulk that could not be stored.
  retryDelayMs: number;
};

type Pending = {
  channel: Channel;
  message: ConsumeMessage;
  // A message holds one order or the several an API process accepted in one turn.
  orders: OrderJobData[];
  // Settles once the message is acked or handed back.
  done: () => void;
};

// Moves orders from RabbitMQ into BullMQ. A message is acked only after its jobs are stored
// in Redis; if the bridge dies before that, RabbitMQ redelivers it and `jobId = orderId`
// makes the second add a no-op. The messages that arrive while a bulk is being stored are
// added together in the next one (one Redis round trip, one ack for all), up to `maxBulk`
// orders, never splitting a message. Bulks are stored one after the other, so when one is
// stored every message delivered before its last one is settled already: acking that last
// one with `multiple` acks exactly this bulk.
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
    private readonly counters: BridgeCounters,
    private readonly options: BridgeOptions,
  ) {}

  start(): void {
    this.broker.onChannel(async (channel) => {
      if (this.stopping) return;
      await channel.prefetch(this.options.prefetch);
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
    const orders = decodeOrders(message.content);
    if (!orders) {
      this.counters.failed('unparseable');
      this.logger.warn(
        { orderId: message.properties.messageId },
        'unparseable order message dead-lettered',
      );
      this.settle(channel, () => channel.nack(message, false, false));
      return;
    }
    let settled!: () => void;
    const stored = new Promise<void>((resolve) => (settled = resolve));
    // One span per order, lasting until the bulk holding it is stored and acked, continuing
    // the purchase's trace from the order (or, for a lone order, the message headers). The
    // job carries its span's context on to the worker (jobs have no headers); a span's work
    // starts synchronously, so `data` is complete before the push below.
    const data: OrderJobData[] = [];
    const spans = orders.map((order) =>
      withProcessSpan(
        { system: 'rabbitmq', destination: topology.ordersQueue, orderId: order.orderId },
        order.traceparent ? { traceparent: order.traceparent } : message.properties.headers,
        () => {
          data.push({ ...order, traceparent: activeTraceparent() ?? order.traceparent });
          return stored;
        },
      ),
    );
    this.pending.push({ channel, message, orders: data, done: settled });
    this.storeSoon();
    await Promise.all(spans);
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
        let end = 0;
        let orders = 0;
        while (end < this.pending.length && this.pending[end]!.channel === channel) {
          if (end > 0 && orders + this.pending[end]!.orders.length > this.options.maxBulk) break;
          orders += this.pending[end]!.orders.length;
          end += 1;
        }
        await this.store(channel, this.pending.splice(0, end), orders);
      }
    } finally {
      this.storing = false;
    }
  }

  private async store(channel: Channel, bulk: Pending[], orders: number): Promise<void> {
    const last = bulk[bulk.length - 1]!.message;
    try {
      await this.queue.addBulk(
        bulk.flatMap((p) =>
          p.orders.map((data) => ({ name: 'order', data, opts: { jobId: data.orderId } })),
        ),
      );
      for (let i = 0; i < orders; i++) this.counters.forwarded();
      this.settle(channel, () => channel.ack(last, true));
    } catch (error) {
      for (let i = 0; i < orders; i++) this.counters.failed('enqueue_failed');
      this.logger.warn(
        { err: error, orders, orderId: bulk[0]!.orders[0]!.orderId },
        'enqueue failed; requeueing',
      );
      // Wait before handing them back, or a Redis outage becomes a hot redelivery loop.
      await new Promise((resolve) => setTimeout(resolve, this.options.retryDelayMs));
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
