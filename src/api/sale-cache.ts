import type { Gate, SaleState } from '../gate/gate.js';
import type { Logger } from '../observability/logger.js';
import { isCluster, type RedisClient } from '../redis/connection.js';

// Answers the cache may give without asking Redis, in the order the reserve script checks
// them, so a cached answer is the one the script would have given.
export type CachedRefusal = 'not_started' | 'ended' | 'quantity_over_limit' | 'sold_out';

export type PublicRefusal = Exclude<CachedRefusal, 'quantity_over_limit'>;

// A sale's window is fixed when it is created; only the clocks judging it may differ.
const windowMarginMs = 1_000;

type Entry = {
  // Highest transition counter seen (from a load or an event); -1 before either.
  version: number;
  soldOut: boolean;
  // A sale over shards: each shard's counter and flag, from events and readings alike (an
  // event may come before the first reading); the sale is sold out when all are.
  shards: Map<number, { version: number; soldOut: boolean }>;
  // The sale's shard count once read; null before, or for a sale without shards.
  shardCount: number | null;
  meta: Pick<SaleState, 'perUserLimit' | 'startsAtMs' | 'endsAtMs'> | null;
  loading: boolean;
  loadedAtMs: number;
};

// Any sale id a buyer names gets an entry (ids of no sale too, so they are not re-read on
// every request): bounded, a full cache is emptied and refilled on use.
const maxEntries = 10_000;

const resubscribeRetryMs = 100;

export type SaleCacheOptions = {
  // A sold-out flag (or a sale not found) is re-read this often even without an event.
  refreshMs: number;
};

// A local sold-out flag per sale, so a sold-out storm is answered without Redis. The reserve
// and release scripts publish every sold-out / reopened transition with a counter (the sale
// hash's `v`); a sale is read with HMGET on first use, only while subscribed, and the higher
// counter wins, so an event and a reading that cross in flight settle on the newer state.
// While the subscription is down nothing is answered from the cache.
export class SaleCache {
  private readonly entries = new Map<number, Entry>();
  private live = false;
  private stopping = false;
  private resubscribing = false;

  constructor(
    private readonly gate: Gate,
    private readonly subscriber: RedisClient,
    private readonly logger: Logger,
    private readonly options: SaleCacheOptions,
  ) {}

  // Resolves once subscribed the first time (the cache answers nothing before); the
  // subscriber connection must have been created with `autoResubscribe: false` (each
  // reconnect subscribes and resets the cache here).
  async start(): Promise<void> {
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel === this.gate.eventsChannel) this.onEvent(message);
    });
    // Events published while disconnected are lost: forget everything until subscribed again.
    this.subscriber.on('close', () => this.goDark());
    // A cluster moves its subscription to another node by itself when the node it used leaves,
    // without a 'close': the events of the move are lost the same way.
    if (isCluster(this.subscriber)) this.subscriber.on('-node', () => this.resubscribe());
    const subscribed = new Promise<void>((resolve) => {
      const onReady = () => void this.subscribe().then((ok) => ok && resolve());
      this.subscriber.on('ready', onReady);
      if (this.subscriber.status === 'ready') onReady();
    });
    await subscribed;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.goDark();
    await this.subscriber.quit().catch(() => undefined);
  }

  get isLive(): boolean {
    return this.live;
  }

  // The hot path: a refusal when the sale is known sold out, else null (ask the gate).
  // A sale seen for the first time is loaded in the background; this request goes to Redis.
  refusal(saleId: number, quantity: number, nowMs: number): CachedRefusal | null {
    const entry = this.entryOf(saleId, nowMs);
    const meta = entry?.meta;
    if (!entry || !meta || !entry.soldOut) return null;
    if (nowMs < meta.startsAtMs) return 'not_started';
    if (meta.endsAtMs !== null && nowMs >= meta.endsAtMs) return 'ended';
    if (quantity > meta.perUserLimit) return 'quantity_over_limit';
    return 'sold_out';
  }

  // What anyone may know of the sale without credentials or a body (API.md: a sale sold out
  // or outside its window may be answered before both), else null. The window is judged by
  // this process's clock, which may differ from Redis's, the one the gate judges by: within
  // `windowMarginMs` of either end the gate is asked.
  publicRefusal(saleId: number, nowMs: number): PublicRefusal | null {
    const entry = this.entryOf(saleId, nowMs);
    const meta = entry?.meta;
    if (!entry || !meta) return null;
    if (nowMs < meta.startsAtMs - windowMarginMs) return 'not_started';
    if (meta.endsAtMs !== null && nowMs >= meta.endsAtMs + windowMarginMs) return 'ended';
    if (!entry.soldOut) return null;
    if (nowMs < meta.startsAtMs) return 'not_started';
    if (meta.endsAtMs !== null && nowMs >= meta.endsAtMs) return 'ended';
    return 'sold_out';
  }

  private entryOf(saleId: number, nowMs: number): Entry | null {
    if (!this.live) return null;
    let entry = this.entries.get(saleId);
    if (!entry) {
      if (this.entries.size >= maxEntries) this.entries.clear();
      entry = {
        version: -1,
        soldOut: false,
        shards: new Map(),
        shardCount: null,
        meta: null,
        loading: false,
        loadedAtMs: 0,
      };
      this.entries.set(saleId, entry);
    }
    const meta = entry.meta;
    if (
      !entry.loading &&
      (meta === null || entry.soldOut) &&
      nowMs - entry.loadedAtMs >= this.options.refreshMs
    ) {
      this.load(saleId, entry, nowMs);
    }
    return entry;
  }

  private async subscribe(): Promise<boolean> {
    try {
      await this.subscriber.subscribe(this.gate.eventsChannel);
    } catch (error) {
      // The next 'ready' (after the reconnect) tries again.
      this.logger.warn({ err: error }, 'sale events subscribe failed');
      return false;
    }
    if (this.stopping) return false;
    // Readings older than this subscription may have missed events: start from nothing.
    this.entries.clear();
    this.live = true;
    return true;
  }

  // Dark until a subscription is confirmed again; retried until one is (or the cache stops).
  private resubscribe(): void {
    this.goDark();
    if (this.resubscribing || this.stopping) return;
    this.resubscribing = true;
    const attempt = () => {
      void this.subscribe().then((ok) => {
        if (ok || this.stopping) this.resubscribing = false;
        else setTimeout(attempt, resubscribeRetryMs).unref();
      });
    };
    setTimeout(attempt, resubscribeRetryMs).unref();
  }

  private goDark(): void {
    if (this.live) this.logger.warn('sale events subscription lost; cache off until back');
    this.live = false;
    this.entries.clear();
  }

  private load(saleId: number, entry: Entry, nowMs: number): void {
    entry.loading = true;
    this.gate.saleState(saleId).then(
      (state) => {
        entry.loading = false;
        entry.loadedAtMs = nowMs;
        if (this.entries.get(saleId) !== entry || !state) return;
        entry.meta = {
          perUserLimit: state.perUserLimit,
          startsAtMs: state.startsAtMs,
          endsAtMs: state.endsAtMs,
        };
        if (state.shards) {
          entry.shardCount = state.shards.length;
          state.shards.forEach((shard, i) => {
            const version = shard?.version ?? -1;
            const known = entry.shards.get(i);
            if (known && known.version > version) return;
            entry.shards.set(i, { version, soldOut: (shard?.remaining ?? 0) <= 0 });
          });
          entry.soldOut = allShardsSoldOut(entry);
        } else if (state.version >= entry.version) {
          entry.version = state.version;
          entry.soldOut = state.remaining <= 0;
        }
      },
      (error: unknown) => {
        entry.loading = false;
        entry.loadedAtMs = nowMs;
        this.logger.warn({ err: error, saleId }, 'sale state load failed');
      },
    );
  }

  // '<sale> <version> <remaining>', or with a fourth field, the shard that moved.
  private onEvent(message: string): void {
    const [sale, version, remaining, shardIndex] = message.split(' ').map(Number);
    if (sale === undefined || version === undefined || remaining === undefined) return;
    // A sale not cached yet is read after this event on first use: nothing to do.
    const entry = this.entries.get(sale);
    if (!entry) return;
    if (shardIndex !== undefined) {
      const known = entry.shards.get(shardIndex);
      if (known && !(version > known.version)) return;
      entry.shards.set(shardIndex, { version, soldOut: remaining <= 0 });
      entry.soldOut = allShardsSoldOut(entry);
      return;
    }
    if (!(version > entry.version)) return;
    entry.version = version;
    entry.soldOut = remaining <= 0;
  }
}

function allShardsSoldOut(entry: Entry): boolean {
  if (entry.shardCount === null) return false;
  for (let shard = 0; shard < entry.shardCount; shard++) {
    if (!entry.shards.get(shard)?.soldOut) return false;
  }
  return true;
}
