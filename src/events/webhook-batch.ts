import type { OrderEvent } from './event.js';

// At most `size` holders at once, the others waiting in line.
export class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(size: number) {
    this.free = size;
  }

  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free -= 1;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.free += 1;
  }
}

export type BatchOutcome = { undelivered: OrderEvent[]; failure: unknown };

// Delivers a batch's events in id order, several at once (each holding one of `slots`), an
// order's events one after the other: an event waits for its order's earlier one, and is not
// sent when that one failed, so a receiver never gets an order's later event before its
// earlier one from one batch. After the first failure nothing more is sent (the receiver is
// having a bad moment; the job's retry comes after its backoff); what was not delivered is
// returned, so that the retry sends only those.
export async function deliverBatch(
  events: readonly OrderEvent[],
  post: (event: OrderEvent) => Promise<void>,
  slots: Slots,
): Promise<BatchOutcome> {
  const delivered = new Set<OrderEvent>();
  let failure: unknown = undefined;
  let failed = false;
  const latest = new Map<string, Promise<boolean>>();
  const runs: Promise<boolean>[] = [];
  for (const event of events) {
    const before = latest.get(event.order.orderId);
    // Waits for its order's earlier event before taking a slot, so that a waiting event never
    // holds one that another order's could use.
    const run = (async () => {
      if (before && !(await before)) return false;
      await slots.acquire();
      try {
        if (failed) return false;
        await post(event);
        delivered.add(event);
        return true;
      } catch (error) {
        if (!failed) failure = error;
        failed = true;
        return false;
      } finally {
        slots.release();
      }
    })();
    latest.set(event.order.orderId, run);
    runs.push(run);
  }
  await Promise.all(runs);
  return { undelivered: events.filter((event) => !delivered.has(event)), failure };
}
