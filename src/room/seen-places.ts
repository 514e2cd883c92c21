import type { Logger } from '../observability/logger.js';
import type { RoomPartKeys } from '../gate/keys.js';
import { partOfPlace } from './partitions.js';
import type { roomRestorer } from './restore.js';
import { seenScript, type RoomTarget } from './scripts.js';
import { seenAt, type RoomSettings } from './settings.js';

const seenChunk = 2_000;

export type SeenPlacesDeps = {
  target: RoomTarget;
  partKeys: (saleId: number, part: number, parts: number) => RoomPartKeys;
  restore: ReturnType<typeof roomRestorer>;
  // The room's settings as this process last read them; undefined: none read.
  settingsOf: (saleId: number) => RoomSettings | undefined;
  logger: Logger;
};

// The places the polls of one API process saw, per room, flushed every ROOM_VIEW_MS in bounded
// scripts (room-seen-4.lua): a poll costs no Redis call of its own, and a million polls an
// interval are hundreds of calls, not one huge one.
export class SeenPlaces {
  // Per room: buyer -> place, seen since the last flush.
  private readonly seen = new Map<number, Map<string, number>>();

  constructor(private readonly deps: SeenPlacesDeps) {}

  mark(saleId: number, buyer: string, place: number): void {
    let places = this.seen.get(saleId);
    if (!places) this.seen.set(saleId, (places = new Map()));
    places.set(buyer, place);
  }

  // The buyer left: their place is not marked seen again.
  forget(saleId: number, buyer: string): void {
    this.seen.get(saleId)?.delete(buyer);
  }

  async flush(): Promise<void> {
    const now = Date.now();
    for (const [saleId, places] of this.seen) {
      if (places.size === 0) continue;
      this.seen.set(saleId, new Map());
      const room = this.deps.settingsOf(saleId);
      if (room === undefined) continue;
      try {
        await this.flushRoom(room, places, now);
      } catch (error) {
        this.deps.logger.warn({ err: error, saleId }, 'room places seen not flushed');
      }
    }
  }

  private async flushRoom(
    room: RoomSettings,
    places: Map<string, number>,
    now: number,
  ): Promise<void> {
    const { target, partKeys, restore } = this.deps;
    const seen = seenAt(now, room.idleSeconds);
    const byPart = new Map<number, [string, number][]>();
    for (const [buyer, place] of places) {
      const { part, local } = partOfPlace(place, room.shards);
      let list = byPart.get(part);
      if (!list) byPart.set(part, (list = []));
      list.push([buyer, local]);
    }
    for (const [part, all] of byPart) {
      const keys = partKeys(room.saleId, part, room.shards);
      for (let at = 0; at < all.length; at += seenChunk) {
        const batch = all.slice(at, at + seenChunk);
        if (!(await seenScript(target, keys, seen, batch))) {
          await restore(room.saleId, now);
          await seenScript(target, keys, seen, batch);
        }
      }
    }
  }
}
