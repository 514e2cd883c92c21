import type { Queue } from 'bullmq';
import { scheduleExpiry, type ExpiryJobData } from './expiry-queue.js';

// A sale's payment window in seconds, or null for a sale without one.
export type PaymentWindowOf = (saleId: number) => Promise<number | null>;

// Schedules the expiry job of each order the worker writes, for the sales with a payment
// window. A sale's window never changes once it exists, so it is read once per sale (a read
// that failed is read again next time).
export class ExpiryScheduler {
  private readonly windows = new Map<number, Promise<number | null>>();

  constructor(
    private readonly queue: Pick<Queue<ExpiryJobData>, 'add'>,
    private readonly windowOf: PaymentWindowOf,
  ) {}

  // The row's pay_by is the database's (migrations/0004_pay_by.sql); a job scheduled from
  // this estimate and run a moment early waits again until pay_by (expiry-queue.ts).
  async schedule(order: { id: string; saleId: number }, payBy?: Date | null): Promise<void> {
    const window = await this.window(order.saleId);
    if (window === null) return;
    await scheduleExpiry(this.queue, order.id, payBy ?? new Date(Date.now() + window * 1000));
  }

  private window(saleId: number): Promise<number | null> {
    let window = this.windows.get(saleId);
    if (!window) {
      window = this.windowOf(saleId);
      window.catch(() => this.windows.delete(saleId));
      this.windows.set(saleId, window);
    }
    return window;
  }
}
