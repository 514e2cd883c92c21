import type { Channel, ConsumeMessage } from 'amqplib';
import type { Logger } from '../observability/logger.js';
import type { BrokerConnection } from '../broker/connection.js';
import { topology } from '../broker/topology.js';
import { decodeOrders } from '../broker/messages.js';
import { activeTraceparent, withProcessSpan } from '../observability/trace-context.js';
import { orderJob, type OrderJobData, type OrderQueues } from '../orders/queue.js';

export type BridgeCounters = {
  forwarded: () => void;
  failed: (reason: 'unparseable' | 'enqueue_failed') => void;
};

export type BridgeOptions = {
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

// Which of these orders PostgreSQL has a row for (confirmed or failed): their end is durable.
export type SettledOrders = (orderIds: string[]) => Promise<Set<string>>;

// Order ids asked about in one query.
const maxSettleQuery = 20_000;

type Pending = {
  channel: Channel;
  message: ConsumeMessage;
  // A message holds one order or the several an API process accepted in one turn.
  orders: OrderJobData[];
  // Settles once the message's jobs are stored or it is handed back.
  done: () => void;
};

// A message whose jobs are stored, kept unacked until every order in it has its row.
type Held = {
  channel: Channel;
  message: ConsumeMessage;
  orders: OrderJobData[];
  unsettled: Set<string>;
  addedAt: number;
};

// Moves orders from RabbitMQ into BullMQ. A BullMQ job lives in a Redis that may forget it
// (DESIGN.md, when Redis forgets), so the message stays the durable record of its orders
// until PostgreSQL has a row for each: it is acked only then. Until then the bridge holds
// it unacked; if the bridge dies, RabbitMQ redelivers it and `jobId = orderId` makes the
// second add a no-op; if Redis loses the jobs, the bridge adds them again (readdHeld, at
// once when a loss is detected, and for any order without a row after `readdAfterMs`).
// The messages that arrive while a bulk is being stored are added together in the next one
// (one Redis round trip), up to `maxBulk` orders, never splitting a message.
export class Bridge {
  private consumerTag: string | null = null;
  private readonly inFlight = new Set<Promise<void>>();
  private stopping = false;
  private pending: Pending[] = [];
  private storing = false;
  private scheduled = false;
  // In delivery order; each held message is also found by its orders' ids.
  private readonly held = new Set<Held>();
  private readonly heldByOrder = new Map<string, Held[]>();
  private settleTimer: NodeJS.Timeout | null = null;
  private settling: Promise<void> | null = null;

  constructor(
    private readonly broker: BrokerConnection,
    private readonly queue: Pick<OrderQueues, 'addBulk'>,
    private readonly logger: Logger,
    private readonly counters: BridgeCounters,
    private readonly options: BridgeOptions,
    private readonly settledOrders: SettledOrders,
  ) {}

  // Orders whose jobs are stored and whose rows PostgreSQL does not have yet.
  get heldOrders(): number {
    let orders = 0;
    for (const h of this.held) orders += h.unsettled.size;
    return orders;
  }

  // These orders have their rows (their jobs completed, so the worker committed them): the
  // messages holding nothing else are acked at once, without asking PostgreSQL.
  markSettled(orderIds: Iterable<string>): void {
    for (const id of orderIds) {
      const holders = this.heldByOrder.get(id);
      if (!holders) continue;
      this.heldByOrder.delete(id);
      for (const h of holders) {
        h.unsettled.delete(id);
        if (h.unsettled.size > 0 || !this.held.delete(h)) continue;
        this.ackOrNack(h.channel, () => h.channel.ack(h.message));
      }
    }
  }

  private hold(h: Held): void {
    this.held.add(h);
    for (const id of h.unsettled) {
      const holders = this.heldByOrder.get(id);
      if (holders) holders.push(h);
      else this.heldByOrder.set(id, [h]);
    }
  }

  private forget(h: Held): void {
    this.held.delete(h);
    for (const id of h.unsettled) {
      const holders = this.heldByOrder.get(id)?.filter((other) => other !== h);
      if (holders?.length) this.heldByOrder.set(id, holders);
      else this.heldByOrder.delete(id);
    }
  }

  start(): void {
    this.broker.onChannel(async (channel) => {
      // Messages held on a closed channel are redelivered on this one.
      for (const h of [...this.held]) if (h.channel !== channel) this.forget(h);
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

  // Stops consuming, waits for the messages already taken to be stored, and for up to
  // `graceMs` for their orders' rows; what is still held then goes back to RabbitMQ when the
  // channel closes, and `jobId = orderId` makes its redelivery a no-op.
  async stop(graceMs = 2_000): Promise<void> {
    this.stopping = true;
    const channel = this.broker.channel;
    if (channel && this.consumerTag) await channel.cancel(this.consumerTag).catch(() => undefined);
    await Promise.allSettled([...this.inFlight]);
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
    const held = [...this.held];
    const jobs = held.flatMap((h) => h.orders.filter((o) => h.unsettled.has(o.orderId)));
    if (jobs.length === 0) return;
    this.logger.warn({ orders: jobs.length, reason }, 'adding the jobs of held orders again');
    for (let i = 0; i < jobs.length; i += this.options.maxBulk) {
      await this.queue.addBulk(jobs.slice(i, i + this.options.maxBulk).map(orderJob));
    }
    const now = Date.now();
    for (const h of held) h.addedAt = now;
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
      this.ackOrNack(channel, () => channel.nack(message, false, false));
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
    try {
      await this.queue.addBulk(bulk.flatMap((p) => p.orders.map(orderJob)));
      for (let i = 0; i < orders; i++) this.counters.forwarded();
      const addedAt = Date.now();
      for (const p of bulk) {
        const unsettled = new Set(p.orders.map((o) => o.orderId));
        this.hold({ channel, message: p.message, orders: p.orders, unsettled, addedAt });
      }
      this.settleSoon();
    } catch (error) {
      for (let i = 0; i < orders; i++) this.counters.failed('enqueue_failed');
      this.logger.warn(
        { err: error, orders, orderId: bulk[0]!.orders[0]!.orderId },
        'enqueue failed; requeueing',
      );
      // Wait before trying again, or a Redis outage becomes a hot loop.
      await sleep(this.options.retryDelayMs);
      // Stored again from here rather than handed back: on a quorum queue every redelivery
      // counts towards the delivery limit, and a Redis outage is not a poison message.
      if (!this.stopping && this.broker.channel === channel) {
        this.pending.unshift(...bulk);
        return;
      }
      // Held messages are acked one by one, so a bulk is handed back one by one too.
      for (const p of bulk) this.ackOrNack(channel, () => channel.nack(p.message, false, true));
    }
    for (const { done } of bulk) done();
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
    const ids: string[] = [];
    for (const h of this.held) {
      if (h.addedAt > heldBefore || ids.length >= maxSettleQuery) break;
      for (const id of h.unsettled) ids.push(id);
    }
    if (ids.length > 0) this.markSettled(await this.settledOrders(ids));
    const overdue = Date.now() - this.options.readdAfterMs;
    for (const h of this.held) {
      if (h.addedAt <= overdue) return this.readdHeld('rows overdue');
    }
  }

  // An ack on a channel that has since closed would throw; the broker redelivers those.
  private ackOrNack(channel: Channel, action: () => void): void {
    if (this.broker.channel !== channel) return;
    try {
      action();
    } catch (error) {
      this.logger.warn({ err: error }, 'ack failed; the broker will redeliver');
    }
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
