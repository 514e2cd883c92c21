import type { Channel, ConsumeMessage } from 'amqplib';
import type { Logger } from '../observability/logger.js';
import type { BrokerConnection } from '../broker/connection.js';
import { topology } from '../broker/topology.js';
import { Subscription } from '../broker/subscription.js';
import { decodeOrders } from '../broker/messages.js';
import { activeTraceparent, withProcessSpan } from '../observability/trace-context.js';
import { orderJob, type OrderJobData, type OrderQueues } from '../orders/queue.js';
import { BulkWriter, type BridgeCounters, type Pending } from './bulk-writer.js';
import { HeldLedger, unsettledOrders } from './held-ledger.js';

export type { BridgeCounters } from './bulk-writer.js';

// Which of these orders PostgreSQL has a row for (confirmed or failed): their end is durable.
export type SettledOrders = (orderIds: string[]) => Promise<Set<string>>;

export type BridgeOptions = {
  broker: BrokerConnection;
  queue: Pick<OrderQueues, 'addBulk'>;
  logger: Logger;
  counters: BridgeCounters;
  settledOrders: SettledOrders;
  // Messages taken from RabbitMQ and not yet acked.
  prefetch: number;
  // Orders stored in one addBulk (a message is never split, so one may hold more).
  maxBulk: number;
  // Wait before storing again a bulk that could not be stored.
  retryDelayMs: number;
  // How often PostgreSQL is asked which held orders have their rows, for the orders held
  // longer than this whose completion was not heard of (markSettled) meanwhile.
  settleIntervalMs: number;
  // A held order still without a row this long after its job was added is added again.
  readdAfterMs: number;
};

// Order ids asked about in one query.
const maxSettleQuery = 20_000;

// Moves orders from RabbitMQ into BullMQ. A BullMQ job lives in a Redis that may forget it
// (DESIGN.md, when Redis forgets), so the message stays the durable record of its orders
// until PostgreSQL has a row for each: it is acked only then. Until then the bridge holds
// it unacked (HeldLedger); if the bridge dies, RabbitMQ redelivers it and `jobId = orderId`
// makes the second add a no-op; if Redis loses the jobs, the bridge adds them again
// (readdHeld, at once when a loss is detected, and for any order without a row after
// `readdAfterMs`). The jobs are stored in bulks (BulkWriter).
export class Bridge {
  private readonly subscription: Subscription;
  private readonly held = new HeldLedger<Channel, ConsumeMessage>();
  private readonly writer: BulkWriter<Channel, ConsumeMessage>;
  private settleTimer: NodeJS.Timeout | null = null;
  private settling: Promise<void> | null = null;

  private readonly logger: Logger;

  constructor(private readonly options: BridgeOptions) {
    const { broker, queue, logger, counters, maxBulk, retryDelayMs } = options;
    this.logger = logger;
    this.subscription = new Subscription(broker, logger, {
      queue: topology.ordersQueue,
      prefetch: options.prefetch,
      name: 'order consumer',
      handle: (channel, message) => this.forward(channel, message),
      // Messages held on a closed channel are redelivered on this one.
      onChannel: (channel) => this.held.keepOnly(channel),
    });
    this.writer = new BulkWriter({
      queue,
      logger,
      counters,
      maxBulk,
      retryDelayMs,
      stored: (channel, bulk) => this.hold(channel, bulk),
      mayRetry: (channel) => !this.subscription.stopping && broker.channel === channel,
      handBack: (channel, message) =>
        this.subscription.settle(channel, () => channel.nack(message, false, true)),
    });
  }

  // Orders whose jobs are stored and whose rows PostgreSQL does not have yet.
  get heldOrders(): number {
    return this.held.orders;
  }

  // These orders have their rows (their jobs completed, so the worker committed them): the
  // messages holding nothing else are acked at once, without asking PostgreSQL.
  markSettled(orderIds: Iterable<string>): void {
    for (const h of this.held.settle(orderIds)) {
      this.subscription.settle(h.channel, () => h.channel.ack(h.message));
    }
  }

  start(): void {
    this.subscription.start();
  }

  // Stops consuming, waits for the messages already taken to be stored, and for up to
  // `graceMs` for their orders' rows; what is still held then goes back to RabbitMQ when the
  // channel closes, and `jobId = orderId` makes its redelivery a no-op.
  async stop(graceMs = 2_000): Promise<void> {
    await this.subscription.stop();
    const deadline = Date.now() + graceMs;
    while (this.held.size > 0 && Date.now() < deadline) {
      await this.settle({ all: true });
      if (this.held.size > 0) await sleep(Math.min(100, this.options.settleIntervalMs));
    }
    if (this.settleTimer) clearTimeout(this.settleTimer);
    this.settleTimer = null;
    await this.settling;
  }

  // Adds again the jobs of every held order without a row: after Redis lost state they may
  // be gone. A job that still exists makes its add a no-op.
  async readdHeld(reason: string): Promise<void> {
    const held = this.held.snapshot();
    const jobs = unsettledOrders(held);
    if (jobs.length === 0) return;
    this.logger.warn({ orders: jobs.length, reason }, 'adding the jobs of held orders again');
    const { maxBulk } = this.options;
    for (let i = 0; i < jobs.length; i += maxBulk) {
      await this.options.queue.addBulk(jobs.slice(i, i + maxBulk).map(orderJob));
    }
    this.held.readded(held, Date.now());
  }

  private async forward(channel: Channel, message: ConsumeMessage): Promise<void> {
    const orders = decodeOrders(message.content);
    if (!orders) {
      this.options.counters.failed('unparseable');
      this.logger.warn(
        { orderId: message.properties.messageId },
        'unparseable order message dead-lettered',
      );
      this.subscription.settle(channel, () => channel.nack(message, false, false));
      return;
    }
    let settled!: () => void;
    const stored = new Promise<void>((resolve) => (settled = resolve));
    // One span per order, lasting until the bulk holding it is stored and acked, continuing
    // the purchase's trace from the order (or, for a lone order, the message headers). The
    // job carries its span's context on to the worker (jobs have no headers); a span's work
    // starts synchronously, so `data` is complete before the write below.
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
    this.writer.write({ channel, message, orders: data, done: settled });
    await Promise.all(spans);
  }

  private hold(channel: Channel, bulk: Pending<Channel, ConsumeMessage>[]): void {
    const addedAt = Date.now();
    for (const p of bulk) this.held.hold(channel, p.message, p.orders, addedAt);
    this.settleSoon();
  }

  private settleSoon(): void {
    if (this.settleTimer || this.held.size === 0) return;
    this.settleTimer = setTimeout(() => {
      this.settleTimer = null;
      this.settling = this.settle()
        .catch((error: unknown) =>
          this.logger.warn({ err: error }, 'settling held orders failed; trying again'),
        )
        .finally(() => {
          this.settling = null;
          this.settleSoon();
        });
    }, this.options.settleIntervalMs);
  }

  // Asks PostgreSQL about the orders held longer than one interval (the completions that
  // were not heard of: a job failed for good and the compensator wrote the row, or Redis lost
  // the event), acks what has its rows, and adds again the jobs of orders that waited too long.
  private async settle({ all = false } = {}): Promise<void> {
    const heldBefore = Date.now() - (all ? 0 : this.options.settleIntervalMs);
    const ids = this.held.unsettledSince(heldBefore, maxSettleQuery);
    if (ids.length > 0) this.markSettled(await this.options.settledOrders(ids));
    if (this.held.heldSince(Date.now() - this.options.readdAfterMs)) {
      return this.readdHeld('rows overdue');
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
