import { roomKeys } from '../gate/keys.js';
import type { Logger } from '../observability/logger.js';
import type { RedisClient } from '../redis/connection.js';
import { ranksOfOrder } from './settings.js';
import { bitAt, type ViewDoc } from './view-doc.js';

// What this process knows of one room's line: the admitter's view, the places given up, and
// the drawn order inverted. Read once per ROOM_VIEW_MS while the room is asked about.
export type RoomSnapshot = {
  doc: ViewDoc | null;
  gone: Buffer | null;
  rankOf: Uint32Array | null;
};

type Entry = RoomSnapshot & { usedAtMs: number; reading: Promise<void> | null };

// A room not asked about for this long is no longer read.
const forgetAfterMs = 60_000;

// Each API process's copy of every room it answers for: a poll reads memory, not Redis
// (docs/waiting-room.md, "Scale"). The view is one GET a room per interval; the bitmap and the
// order are read again only when the view says they changed.
export class RoomViews {
  private readonly entries = new Map<number, Entry>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly intervalMs: number,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.timer ??= setInterval(() => this.refreshAll(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  // The room's snapshot; read first (awaited) the first time this process is asked about it.
  async snapshot(saleId: number, nowMs: number): Promise<RoomSnapshot> {
    let entry = this.entries.get(saleId);
    if (!entry) {
      entry = { doc: null, gone: null, rankOf: null, usedAtMs: nowMs, reading: null };
      this.entries.set(saleId, entry);
      await this.refresh(saleId, entry);
    }
    entry.usedAtMs = nowMs;
    return entry;
  }

  // The room's snapshot when its view is already in memory (what `snapshot` answers without
  // waiting), else undefined.
  current(saleId: number, nowMs: number): RoomSnapshot | undefined {
    const entry = this.entries.get(saleId);
    if (!entry?.doc) return undefined;
    entry.usedAtMs = nowMs;
    return entry;
  }

  // A place given up through this process is known given up here at once.
  markGone(saleId: number, place: number): void {
    this.setGone(saleId, place, true);
  }

  // A place a join holds (a ticket brought it back after Redis forgot the line) is known live
  // here at once: the bitmap read before still has it given up until the admitter publishes.
  markLive(saleId: number, place: number): void {
    this.setGone(saleId, place, false);
  }

  // The bitmap is copied, not changed in place: a reply may be reading the one it replaces.
  private setGone(saleId: number, place: number, gone: boolean): void {
    const entry = this.entries.get(saleId);
    // Already so: no copy (a million places is 125 kB, and a reload joins again).
    if (!entry || bitAt(entry.gone, place) === gone) return;
    const size = Math.max(entry.gone?.length ?? 0, (place >> 3) + 1);
    const bitmap = Buffer.alloc(size);
    entry.gone?.copy(bitmap);
    const bit = 0x80 >> (place & 7);
    bitmap[place >> 3] = gone ? bitmap[place >> 3]! | bit : bitmap[place >> 3]! & ~bit;
    entry.gone = bitmap;
  }

  // Read again now (after a restore, or in tests).
  async refreshNow(saleId: number): Promise<void> {
    const entry = this.entries.get(saleId);
    if (entry) await this.refresh(saleId, entry);
  }

  private refreshAll(): void {
    const now = Date.now();
    for (const [saleId, entry] of this.entries) {
      if (now - entry.usedAtMs > forgetAfterMs) this.entries.delete(saleId);
      else if (!entry.reading) void this.refresh(saleId, entry);
    }
  }

  private refresh(saleId: number, entry: Entry): Promise<void> {
    entry.reading ??= this.read(saleId, entry)
      .catch((error: unknown) => this.logger.warn({ err: error, saleId }, 'room view unread'))
      .finally(() => (entry.reading = null));
    return entry.reading;
  }

  private async read(saleId: number, entry: Entry): Promise<void> {
    const keys = roomKeys(this.prefix, saleId);
    const raw = await this.redis.get(keys.view);
    // A Redis that forgot the view (restarted empty, failed over): the last one read still
    // orders the line until the admitter has rebuilt it; a place is never lost meanwhile.
    if (!raw) return;
    const doc = JSON.parse(raw) as ViewDoc;
    const before = entry.doc;
    const rebuilt = !before || before.inc !== doc.inc;
    if (rebuilt || before.gv !== doc.gv || !entry.gone) {
      entry.gone = await this.redis.getBuffer(keys.gone);
    }
    if (doc.drawn && (rebuilt || !entry.rankOf)) {
      const order = await this.redis.getBuffer(keys.order);
      if (order) entry.rankOf = ranksOfOrder(order);
    }
    entry.doc = doc;
  }
}
