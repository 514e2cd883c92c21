import type { Database } from '../db/client.js';
import { takeOutboxBatch, pruneOutbox } from '../db/order-events-repository.js';
import type { Logger } from '../observability/logger.js';
import type { EventsMetrics } from '../observability/events-metrics.js';
import { toEvent, type OrderEvent } from './event.js';
import type { DrainWatch } from './drain-watch.js';

export type RelayDeps = {
  db: Database;
  // Resolves when RabbitMQ confirmed every event; rejects if any was not.
  publish: (events: OrderEvent[]) => Promise<void>;
  // Hands the events to the webhook queue (deduplicated by event id); absent without a URL.
  enqueue?: ((events: OrderEvent[]) => Promise<void>) | undefined;
  logger: Logger;
  metrics?: EventsMetrics | undefined;
  batch: number;
  idleMs: number;
  // The least time from a pass's start to the next one's after a batch that was not full.
  intervalMs: number;
  // An open relay transaction idle this long is ended by PostgreSQL (a stopped relay).
  transactionIdleMs: number;
  retentionHours: number;
  // While the drain is behind, passes wait (drain-watch.ts); absent, they never do.
  drain?: Pick<DrainWatch, 'isBehind' | 'yieldFor'> | null | undefined;
  // Fault injection (FAULT_KILL_AFTER_EVENTS_PUBLISH): runs between a batch's publish and its
  // marks, the crash window that repeats events.
  afterPublish?: (() => void) | undefined;
};

const retryAfterFailureMs = 500;
const pruneEveryMs = 60_000;

// The outbox relay (docs/order-events.md): one transaction per batch takes the relay lock,
// reads the oldest unpublished rows, publishes them in id order with publisher confirms, hands
// them to the webhook queue, and only then marks them published. A crash anywhere before the
// commit leaves them unmarked: the next pass (this relay's or another's) sends them again
// with the same ids. Never a mark without a confirm, so never a lost event.
export class OutboxRelay {
  private running = false;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private lastPrune = 0;
  // When the relay began waiting for the drain: the wait ends EVENTS_YIELD_MAX_MS after it.
  private heldSince: number | null = null;

  constructor(private readonly deps: RelayDeps) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
  }

  // One batch: the number of events published, or null when another relay holds the lock.
  async pass(): Promise<number | null> {
    const { db, batch, transactionIdleMs } = this.deps;
    const taken = await takeOutboxBatch(db, batch, transactionIdleMs);
    if (!taken) return null;
    if (taken.rows.length === 0) {
      await taken.commit();
      return 0;
    }
    const events = taken.rows.map(toEvent);
    try {
      // Both before the marks; neither needs the other, so they overlap.
      await Promise.all([this.deps.publish(events), this.deps.enqueue?.(events)]);
      this.deps.afterPublish?.();
    } catch (error) {
      await taken.rollback();
      throw error;
    }
    await taken.commit();
    const now = Date.now();
    this.deps.metrics?.published.inc(events.length);
    for (const row of taken.rows) {
      this.deps.metrics?.publishLag.observe((now - row.occurredAt.getTime()) / 1000);
    }
    return events.length;
  }

  private async run(): Promise<void> {
    while (this.running) {
      await this.yieldToDrain();
      if (!this.running) return;
      const started = Date.now();
      let pause = this.deps.idleMs;
      try {
        const published = await this.pass();
        // A full batch: more are likely waiting. A part of one: the rows come in as fast as
        // passes take them, and each pass costs its round trips whatever it carries, so the
        // next waits for the interval and takes what came meanwhile at once.
        if (published === this.deps.batch) pause = 0;
        else if (published)
          pause = Math.max(this.deps.idleMs, this.deps.intervalMs - (Date.now() - started));
        await this.pruneNow();
      } catch (error) {
        this.deps.metrics?.relayFailures.inc();
        this.deps.logger.warn({ err: error }, 'outbox relay pass failed; retrying');
        pause = retryAfterFailureMs;
      }
      if (pause > 0 && this.running) await this.sleep(pause);
    }
  }

  // A drain that is behind gets the CPU the passes would take (theirs and RabbitMQ's,
  // PostgreSQL's and Redis's for their events) until it caught up, for EVENTS_YIELD_MAX_MS at
  // most; then passes run until it has, and the next wait starts after that.
  private async yieldToDrain(): Promise<void> {
    const drain = this.deps.drain;
    if (!drain?.isBehind) {
      this.heldSince = null;
      return;
    }
    this.heldSince ??= Date.now();
    await drain.yieldFor(this.heldSince);
  }

  private async pruneNow(): Promise<void> {
    const { retentionHours, db } = this.deps;
    if (retentionHours === 0 || Date.now() - this.lastPrune < pruneEveryMs) return;
    this.lastPrune = Date.now();
    const pruned = await pruneOutbox(db, retentionHours, 10_000);
    if (pruned > 0) this.deps.logger.info({ pruned }, 'published order events pruned');
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
}
