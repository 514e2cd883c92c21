import type { OrderBatchMessage, OrderMessage } from './messages.js';
import type { ConfirmedPublisher } from './publisher.js';
import { topology } from './topology.js';
import { withPublishSpan } from '../observability/trace-context.js';

type Waiting = { order: OrderMessage; resolve: () => void; reject: (error: unknown) => void };

// The orders accepted in one event-loop turn travel to the broker as one message: one
// publish, one confirm and one persisted write in RabbitMQ for all of them, which is most of
// the broker's cost per order (bench/README.md). Nothing waits for a batch to fill: whatever
// the turn reserved is sent when it ends (setImmediate), or at `maxOrders`. Each purchase is
// still answered only once the message holding its order is confirmed, and a refused message
// fails every purchase in it, each of which then gives its own units back.
export class OrderPublisher {
  private waiting: Waiting[] = [];
  private scheduled = false;

  constructor(
    private readonly publisher: ConfirmedPublisher,
    private readonly maxOrders: number,
  ) {}

  publish(order: OrderMessage): Promise<void> {
    const traced = {
      system: 'rabbitmq',
      destination: topology.ordersExchange,
      messageId: order.orderId,
    };
    // Each order has its own producer span, lasting until its message is confirmed; its
    // context rides in the order itself, since a message of many orders has many traces.
    return withPublishSpan(
      traced,
      (headers) =>
        new Promise<void>((resolve, reject) => {
          const traceparent = headers.traceparent;
          this.waiting.push({
            order: traceparent ? { ...order, traceparent } : order,
            resolve,
            reject,
          });
          if (this.waiting.length >= this.maxOrders) this.flush();
          else if (!this.scheduled) {
            this.scheduled = true;
            setImmediate(() => this.flush());
          }
        }),
    );
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.waiting;
    if (batch.length === 0) return;
    this.waiting = [];
    const first = batch[0]!.order;
    // A lone order keeps the one-order format (and its trace context in the headers).
    const body: OrderMessage | OrderBatchMessage =
      batch.length === 1 ? first : { orders: batch.map((w) => w.order) };
    const headers =
      batch.length === 1 && first.traceparent ? { traceparent: first.traceparent } : {};
    this.publisher
      .send(topology.ordersExchange, topology.ordersRoutingKey, body, {
        messageId: first.orderId,
        headers,
      })
      .then(
        () => {
          for (const w of batch) w.resolve();
        },
        (error: unknown) => {
          for (const w of batch) w.reject(error);
        },
      );
  }
}
