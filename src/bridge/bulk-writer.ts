import type { Logger } from '../observability/logger.js';
import { orderJob, type OrderJobData, type OrderQueues } from '../orders/queue.js';

export type BridgeCounters = {
  forwarded: () => void;
  failed: (reason: 'unparseable' | 'enqueue_failed') => void;
};

// A message taken from RabbitMQ whose jobs are not stored yet.
export type Pending<Channel, Message> = {
  channel: Channel;
  message: Message;
  // A message holds one order or the several an API process accepted in one turn.
  orders: OrderJobData[];
  // Settles once the message's jobs are stored or it is handed back.
  done: () => void;
};

export type BulkWriterOptions<Channel, Message> = {
  queue: Pick<OrderQueues, 'addBulk'>;
  logger: Logger;
  counters: BridgeCounters;
  // Orders stored in one addBulk (a message is never split, so one may hold more).
  maxBulk: number;
  // Wait before storing again a bulk that could not be stored.
  retryDelayMs: number;
  // The bulk's jobs are stored: its messages are now to be held until their rows exist.
  stored: (channel: Channel, bulk: Pending<Channel, Message>[]) => void;
  // Whether a bulk that failed may be stored again from here (its channel is still open).
  mayRetry: (channel: Channel) => boolean;
  // Hands a message back to RabbitMQ for redelivery.
  handBack: (channel: Channel, message: Message) => void;
};

// Stores the jobs of the messages taken from RabbitMQ in BullMQ. The messages that arrive
// while a bulk is being stored are added together in the next one (one Redis round trip), up
// to `maxBulk` orders, never splitting a message.
export class BulkWriter<Channel, Message> {
  private pending: Pending<Channel, Message>[] = [];
  private storing = false;
  private scheduled = false;

  constructor(private readonly options: BulkWriterOptions<Channel, Message>) {}

  write(pending: Pending<Channel, Message>): void {
    this.pending.push(pending);
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

  private async store(
    channel: Channel,
    bulk: Pending<Channel, Message>[],
    orders: number,
  ): Promise<void> {
    const { counters, logger } = this.options;
    try {
      await this.options.queue.addBulk(bulk.flatMap((p) => p.orders.map(orderJob)));
      for (let i = 0; i < orders; i++) counters.forwarded();
      this.options.stored(channel, bulk);
    } catch (error) {
      for (let i = 0; i < orders; i++) counters.failed('enqueue_failed');
      logger.warn(
        { err: error, orders, orderId: bulk[0]!.orders[0]!.orderId },
        'enqueue failed; requeueing',
      );
      // Wait before trying again, or a Redis outage becomes a hot loop.
      await sleep(this.options.retryDelayMs);
      // Stored again from here rather than handed back: on a quorum queue every redelivery
      // counts towards the delivery limit, and a Redis outage is not a poison message.
      if (this.options.mayRetry(channel)) {
        this.pending.unshift(...bulk);
        return;
      }
      // Held messages are acked one by one, so a bulk is handed back one by one too.
      for (const p of bulk) this.options.handBack(channel, p.message);
    }
    for (const { done } of bulk) done();
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
