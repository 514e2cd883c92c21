import type { SaleState } from '../gate/gate.js';
import type { SaleEvent } from '../gate/sale-event.js';

// Answers the cache may give without asking Redis, in the order the reserve script checks
// them, so a cached answer is the one the script would have given.
export type CachedRefusal = 'not_started' | 'ended' | 'quantity_over_limit' | 'sold_out';

// What anyone may be told before credentials and a body (API.md): no quantity is known yet.
export type PublicRefusal = Exclude<CachedRefusal, 'quantity_over_limit'>;

// A sale's window is fixed when it is created; only the clocks judging it may differ.
const windowMarginMs = 1_000;

type Rules = Pick<SaleState, 'perUserLimit' | 'startsAtMs' | 'endsAtMs'>;

// One sold-out flag and the transition counter it was seen at (the hash's `v`).
type Flag = { version: number; soldOut: boolean };

// The newer of two states of one flag is the one with the higher counter, so an event and a
// reading that cross in flight settle on the newer state. A reading at the counter of an
// event it crossed saw that event's write: it wins the tie, an event does not.
function isNewer(next: Flag, known: Flag | undefined, from: 'reading' | 'event'): boolean {
  if (!known) return true;
  return from === 'reading' ? next.version >= known.version : next.version > known.version;
}

// What one API process knows of one sale (./sale-cache.ts keeps one per sale): its rules and
// whether it is sold out. A sale without shards has one flag; a sale over shards one per
// shard, and is sold out when all of them are. Pure: readings and events are handed to it.
export class SaleEntry {
  // The whole sale's flag; counter -1 before a reading or an event.
  private whole: Flag = { version: -1, soldOut: false };
  // A sale over shards: each shard's flag, from events and readings alike (an event may come
  // before the first reading).
  private readonly shards = new Map<number, Flag>();
  // The sale's shard count once read; null before, or for a sale without shards.
  private shardCount: number | null = null;
  private rules: Rules | null = null;
  private soldOut = false;
  private reading = false;
  private readAtMs = 0;

  // A sale not known yet, or known sold out, is read again every `refreshMs` (a reading may
  // be lost, and a sold-out flag is what the cache answers from).
  needsReading(nowMs: number, refreshMs: number): boolean {
    return (
      !this.reading && (this.rules === null || this.soldOut) && nowMs - this.readAtMs >= refreshMs
    );
  }

  startReading(): void {
    this.reading = true;
  }

  // The reading started at `startedAtMs` came back: `state` null when Redis has no such sale
  // (or the reading failed).
  finishReading(startedAtMs: number, state: SaleState | null): void {
    this.reading = false;
    this.readAtMs = startedAtMs;
    if (!state) return;
    this.rules = {
      perUserLimit: state.perUserLimit,
      startsAtMs: state.startsAtMs,
      endsAtMs: state.endsAtMs,
    };
    if (!state.shards) {
      this.setWhole({ version: state.version, soldOut: state.remaining <= 0 }, 'reading');
      return;
    }
    this.shardCount = state.shards.length;
    state.shards.forEach((shard, i) => {
      const flag = { version: shard?.version ?? -1, soldOut: (shard?.remaining ?? 0) <= 0 };
      if (isNewer(flag, this.shards.get(i), 'reading')) this.shards.set(i, flag);
    });
    this.soldOut = this.allShardsSoldOut();
  }

  onEvent(event: SaleEvent): void {
    const flag = { version: event.version, soldOut: event.remaining <= 0 };
    if (event.shard === null) {
      this.setWhole(flag, 'event');
      return;
    }
    if (!isNewer(flag, this.shards.get(event.shard), 'event')) return;
    this.shards.set(event.shard, flag);
    this.soldOut = this.allShardsSoldOut();
  }

  // With a quantity (after credentials and body): the reserve script's answer, while the sale
  // is known sold out. Without one (before them): what anyone may know of the sale, its
  // window judged by this process's clock, which may differ from Redis's, the one the gate
  // judges by: within `windowMarginMs` of either end the gate is asked. Null: ask the gate.
  refusal(nowMs: number, quantity: number): CachedRefusal | null;
  refusal(nowMs: number, quantity: null): PublicRefusal | null;
  refusal(nowMs: number, quantity: number | null): CachedRefusal | null {
    const rules = this.rules;
    if (!rules) return null;
    const ends = rules.endsAtMs;
    if (quantity === null) {
      if (nowMs < rules.startsAtMs - windowMarginMs) return 'not_started';
      if (ends !== null && nowMs >= ends + windowMarginMs) return 'ended';
    }
    if (!this.soldOut) return null;
    if (nowMs < rules.startsAtMs) return 'not_started';
    if (ends !== null && nowMs >= ends) return 'ended';
    if (quantity !== null && quantity > rules.perUserLimit) return 'quantity_over_limit';
    return 'sold_out';
  }

  private setWhole(flag: Flag, from: 'reading' | 'event'): void {
    if (!isNewer(flag, this.whole, from)) return;
    this.whole = flag;
    this.soldOut = flag.soldOut;
  }

  private allShardsSoldOut(): boolean {
    if (this.shardCount === null) return false;
    for (let shard = 0; shard < this.shardCount; shard++) {
      if (!this.shards.get(shard)?.soldOut) return false;
    }
    return true;
  }
}
