import { dueOrders, unreturnedOrders } from '../db/payments-repository.js';
import { PeriodicPass } from '../recovery/periodic-pass.js';
import { finishReturn } from '../orders/give-back.js';
import { expireOrder, type ArbiterDeps } from './arbiter.js';

export type SweepResult = 'ok' | 'failed';

export type ExpirySweepDeps = ArbiterDeps & {
  intervalMs: number;
  // Orders handled per pass, for each of its two steps.
  batch: number;
  // A pass taking longer fails (counted), and the next one tries again.
  passTimeoutMs: number;
  onPass?: (result: SweepResult, counts: SweepCounts) => void;
};

export type SweepCounts = { expired: number; returned: number };

// The expiry jobs live in a Redis that can forget them, and a process can die between an
// order's row leaving `confirmed` and its units' return: PostgreSQL knows both, so each pass
// expires the confirmed orders past payBy and finishes the returns left unfinished.
export class ExpirySweep {
  private readonly passes: PeriodicPass;

  constructor(private readonly deps: ExpirySweepDeps) {
    let counts: SweepCounts = { expired: 0, returned: 0 };
    this.passes = new PeriodicPass({
      name: 'expiry sweep',
      intervalMs: deps.intervalMs,
      timeoutMs: deps.passTimeoutMs,
      run: async () => {
        counts = { expired: 0, returned: 0 };
        counts = await this.runOnce();
      },
      done: (error) => {
        if (error !== null) {
          this.deps.onPass?.('failed', { expired: 0, returned: 0 });
          this.deps.logger.warn({ err: error }, 'expiry sweep pass failed');
          return;
        }
        this.deps.onPass?.('ok', counts);
        if (counts.returned > 0) {
          this.deps.logger.warn(counts, 'expiry sweep finished returns a crash left');
        }
      },
    });
  }

  start(): void {
    this.passes.start();
  }

  async stop(): Promise<void> {
    await this.passes.stop();
  }

  async runOnce(): Promise<SweepCounts> {
    const counts: SweepCounts = { expired: 0, returned: 0 };
    for (const orderId of await dueOrders(this.deps.db, this.deps.batch)) {
      const result = await this.each(orderId, () => expireOrder(this.deps, orderId, 'sweep'));
      if (result?.kind === 'expired') counts.expired += 1;
    }
    for (const order of await unreturnedOrders(this.deps.db, this.deps.batch)) {
      const outcome = await this.each(order.id, () => finishReturn(this.deps, order));
      if (outcome?.kind === 'returned') counts.returned += 1;
    }
    return counts;
  }

  // One order that cannot be settled must not keep the others waiting.
  private async each<T>(orderId: string, work: () => Promise<T>): Promise<T | null> {
    try {
      return await work();
    } catch (error) {
      this.deps.logger.warn({ err: error, orderId }, 'expiry sweep could not settle an order');
      return null;
    }
  }
}
