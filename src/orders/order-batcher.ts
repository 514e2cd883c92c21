import type { Database } from '../db/client.js';
import { insertConfirmedOrder, type OrderToWrite } from '../db/orders-repository.js';
import { insertConfirmedOrders } from '../db/orders-batch-repository.js';
import type { Context } from '@opentelemetry/api';
import { captureContext, withBatchSpan, withContext } from '../observability/trace-context.js';

export type OrderBatcherOptions = {
  // A batch is written as soon as it holds this many orders...
  maxBatch: number;
  // ...or this long after its first order arrived.
  lingerMs: number;
};

type Waiting = {
  order: OrderToWrite;
  // The job's trace context, so the shared commit shows up in every purchase's trace.
  context: Context | undefined;
  resolve: (inserted: boolean) => void;
  reject: (error: unknown) => void;
};

// SQLSTATE classes where the connection or the server is the problem, not a row: writing
// the orders one by one would fail the same way, so the whole batch fails (and is retried).
const connectionTrouble = /^(08|53|57)/;

function rowMayBeAtFault(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.length === 5 && !connectionTrouble.test(code);
}

// Group commit. The sold counter of a sale is one hot row, so one transaction per order
// caps the drain at one lock hand-over per order. The jobs a worker runs concurrently meet
// here and are written together (insertConfirmedOrders); each job still gets its own answer,
// the same insertConfirmedOrder would give it. When the batch statement fails on a row
// (a CHECK guard, a trigger, a deadlock), its orders are written again one by one with
// insertConfirmedOrder, so one bad order cannot fail its neighbours.
export class OrderBatcher {
  private waiting: Waiting[] = [];
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> | null = null;
  readonly stats = { orders: 0, batches: 0, transactions: 0, fallbacks: 0 };

  constructor(
    private readonly db: Database,
    private readonly options: OrderBatcherOptions,
  ) {}

  // Same contract as insertConfirmedOrder: true when this call wrote the row, false when a
  // row for this id already existed; rejects with the error that refused the order.
  commit(order: OrderToWrite): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.waiting.push({ order, context: captureContext(), resolve, reject });
      this.stats.orders += 1;
      this.schedule();
    });
  }

  // Resolves once every order handed in so far is written.
  async drain(): Promise<void> {
    while (this.writing || this.waiting.length > 0) {
      if (!this.writing) this.flush();
      await this.writing;
    }
  }

  private schedule(): void {
    // A write in progress takes what has gathered when it ends.
    if (this.writing) return;
    if (this.waiting.length >= this.options.maxBatch) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), this.options.lingerMs);
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.writing || this.waiting.length === 0) return;
    const batch = this.takeBatch();
    this.writing = this.write(batch).finally(() => {
      this.writing = null;
      // These waited for the whole previous write already: no linger.
      if (this.waiting.length > 0) this.flush();
    });
  }

  // Up to maxBatch orders with distinct ids; a second copy of an id waits for the next
  // batch, where it meets the first copy's row like any redelivery would.
  private takeBatch(): Waiting[] {
    const batch: Waiting[] = [];
    const later: Waiting[] = [];
    const ids = new Set<string>();
    for (const item of this.waiting) {
      if (batch.length < this.options.maxBatch && !ids.has(item.order.id)) {
        ids.add(item.order.id);
        batch.push(item);
      } else {
        later.push(item);
      }
    }
    this.waiting = later;
    return batch;
  }

  private async write(batch: Waiting[]): Promise<void> {
    this.stats.batches += 1;
    this.stats.transactions += 1;
    let inserted: Set<string>;
    try {
      inserted = await withBatchSpan(
        batch.map((item) => ({ context: item.context, orderId: item.order.id })),
        () =>
          insertConfirmedOrders(
            this.db,
            batch.map((item) => item.order),
          ),
      );
    } catch (error) {
      // Even a batch of one: its error then comes from insertConfirmedOrder, as unbatched.
      if (rowMayBeAtFault(error)) return this.writeOneByOne(batch);
      for (const item of batch) item.reject(error);
      return;
    }
    for (const item of batch) item.resolve(inserted.has(item.order.id));
  }

  private async writeOneByOne(batch: Waiting[]): Promise<void> {
    this.stats.fallbacks += 1;
    for (const item of batch) {
      this.stats.transactions += 1;
      try {
        item.resolve(
          await withContext(item.context, () => insertConfirmedOrder(this.db, item.order)),
        );
      } catch (error) {
        item.reject(error);
      }
    }
  }
}
