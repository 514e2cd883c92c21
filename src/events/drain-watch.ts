import type { Config } from '../config.js';
import { bullPrefix, orderQueueNames } from '../queues/names.js';
import type { RedisClient } from '../redis/connection.js';

// Whether the drain (bridge and worker) is behind: its order jobs waiting in BullMQ, read
// every `everyMs`. While it is, the webhook dispatcher holds each job until the drain has
// caught up or the job's oldest event is `maxDeferMs` old, whichever comes first: on a host
// the two share, a webhook's CPU (the events process's, the receiver's, RabbitMQ's and
// Redis's for its job) goes to the group commit first, and an event's lag stays bounded
// (docs/order-events.md, Where it runs).

export type DrainWatchDeps = {
  // Orders the drain has not taken yet; null when that cannot be read (then it is not behind).
  backlog: () => Promise<number | null>;
  // The drain is behind from this many orders waiting.
  threshold: number;
  everyMs: number;
  maxDeferMs: number;
};

export class DrainWatch {
  private behind = false;
  private timer: NodeJS.Timeout | null = null;
  private running = false;

  constructor(private readonly deps: DrainWatchDeps) {}

  get isBehind(): boolean {
    return this.behind;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    void this.read();
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.behind = false;
  }

  // Resolves once the drain is not behind, or when the oldest event (occurred at `since`,
  // epoch ms) has waited maxDeferMs: the delay a webhook takes, at most, for the drain's sake.
  async yieldFor(since: number): Promise<void> {
    const deadline = since + this.deps.maxDeferMs;
    while (this.behind && this.running) {
      const left = deadline - Date.now();
      if (left <= 0) return;
      await new Promise((resolve) => setTimeout(resolve, Math.min(left, this.deps.everyMs)));
    }
  }

  private async read(): Promise<void> {
    const waiting = await this.deps.backlog().catch(() => null);
    if (!this.running) return;
    this.behind = waiting !== null && waiting >= this.deps.threshold;
    this.timer = setTimeout(() => void this.read(), this.deps.everyMs);
    this.timer.unref();
  }
}

// The order jobs waiting in the drain's BullMQ queues (their `wait` lists): one LLEN per queue,
// each on its own (on a cluster the queues are in slots of their own).
export async function orderJobsWaiting(
  redis: Pick<RedisClient, 'llen'>,
  config: Parameters<typeof bullPrefix>[0] & Parameters<typeof orderQueueNames>[0],
): Promise<number> {
  const prefix = bullPrefix(config);
  const lengths = await Promise.all(
    orderQueueNames(config).map((name) => redis.llen(`${prefix}:${name}:wait`)),
  );
  return lengths.reduce((sum, n) => sum + n, 0);
}

// The watch EVENTS_YIELD_* describe, reading the drain's queues on `redis`; null when
// EVENTS_YIELD_MAX_MS is 0 (webhooks never wait for the drain).
export function drainWatch(config: Config, redis: RedisClient): DrainWatch | null {
  const { yieldBacklog, yieldCheckMs, yieldMaxMs } = config.events;
  if (yieldMaxMs === 0) return null;
  return new DrainWatch({
    backlog: () => orderJobsWaiting(redis, config),
    threshold: yieldBacklog,
    everyMs: yieldCheckMs,
    maxDeferMs: yieldMaxMs,
  });
}
