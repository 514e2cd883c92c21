import type { Gate } from '../gate/gate.js';
import { parseRulesChanged, parseSaleEvent } from '../gate/sale-event.js';
import type { Logger } from '../observability/logger.js';
import { isCluster, type RedisClient } from '../redis/connection.js';
import { SaleEntry, type CachedRefusal, type PublicRefusal } from './sale-entry.js';

export type { CachedRefusal, PublicRefusal } from './sale-entry.js';

// Any sale id a buyer names gets an entry (ids of no sale too, so they are not re-read on
// every request): bounded, a full cache is emptied and refilled on use.
const maxEntries = 10_000;

const resubscribeRetryMs = 100;

export type SaleCacheOptions = {
  // A sold-out flag (or a sale not found) is re-read this often even without an event.
  refreshMs: number;
};

// A local sold-out flag per sale, so a sold-out storm is answered without Redis. The scripts
// publish every sold-out / reopened transition with a counter (lua/includes/sale-events.lua);
// a sale is read on first use, only while subscribed, and each entry (./sale-entry.ts) keeps
// the newer of what it read and what it heard. While the subscription is down nothing is
// answered from the cache.
export class SaleCache {
  private readonly entries = new Map<number, SaleEntry>();
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
      if (channel === this.gate.eventsChannel) this.onMessage(message);
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

  // The hot path: what the cache may answer for the sale (SaleEntry.refusal), else null (ask
  // the gate). A sale seen for the first time is read in the background; this request goes
  // to Redis.
  refusal(saleId: number, nowMs: number, quantity: number): CachedRefusal | null;
  refusal(saleId: number, nowMs: number, quantity: null): PublicRefusal | null;
  refusal(saleId: number, nowMs: number, quantity: number | null): CachedRefusal | null {
    const entry = this.entryOf(saleId, nowMs);
    if (!entry) return null;
    return quantity === null ? entry.refusal(nowMs, null) : entry.refusal(nowMs, quantity);
  }

  private entryOf(saleId: number, nowMs: number): SaleEntry | null {
    if (!this.live) return null;
    let entry = this.entries.get(saleId);
    if (!entry) {
      if (this.entries.size >= maxEntries) this.entries.clear();
      entry = new SaleEntry();
      this.entries.set(saleId, entry);
    }
    if (entry.needsReading(nowMs, this.options.refreshMs)) this.read(saleId, entry, nowMs);
    return entry;
  }

  private read(saleId: number, entry: SaleEntry, nowMs: number): void {
    entry.startReading();
    this.gate.saleState(saleId).then(
      // An entry emptied out of the cache meanwhile is not written.
      (state) => entry.finishReading(nowMs, this.entries.get(saleId) === entry ? state : null),
      (error: unknown) => {
        entry.finishReading(nowMs, null);
        this.logger.warn({ err: error, saleId }, 'sale state load failed');
      },
    );
  }

  // A sale not cached yet is read after this event on first use: nothing to do.
  private onMessage(message: string): void {
    const changed = parseRulesChanged(message);
    // Its next use reads it again; a reading in flight now may predate the change, and its
    // entry, no longer in the map, is not written (read()).
    if (changed !== null) {
      this.entries.delete(changed);
      return;
    }
    const event = parseSaleEvent(message);
    if (event) this.entries.get(event.saleId)?.onEvent(event);
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
}
