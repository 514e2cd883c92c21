import type { Database } from '../db/client.js';
import { roomPartKeys } from '../gate/keys.js';
import { composeBitmaps, frontierOf, partOfPlace, topOf } from './partitions.js';
import { restoreRoom } from './restore.js';
import { tendScript, type RoomTarget, type Tended } from './scripts.js';
import { bitAt } from './view-doc.js';
import { placeAtRank, type Line } from './walk.js';

// What the admitter reads of the line's partitions each step.
export type PartsRead = {
  // Every place numbered up to here is handed out (or given up): the admitter walks no further.
  frontier: number;
  // The highest place number handed out (`joined` in PostgreSQL).
  top: number;
  // The ordered region's partition sizes, once every partition froze its prequeue.
  sizes: number[] | null;
  // Once since (re)created, the latest partition's: idle drops wait an idle period from it.
  sinceMs: number;
};

// The admitter's side of a line's partitions (./partitions.ts; one for a sale without shards,
// the room's own keys): each step visits every partition (lua/room-tend-5.lua), raises the
// counters of those behind to the round of the one ahead once the sale has started, so a place
// numbered later joined later to within one step, and keeps the line's bitmap of places given
// up, by place number, composed from theirs.
export class LineParts {
  private tended: Tended[] = [];
  private goneOf: (Buffer | null)[] = [];
  private readOf: string[] = [];
  // The line's bitmap by place number, and (over shards) whether it was composed anew since
  // the admitter last published it.
  gone: Buffer | null = null;
  changed = false;

  constructor(
    private readonly target: RoomTarget,
    private readonly db: Database,
    private readonly saleId: number,
    readonly parts: number,
  ) {}

  async visit(startsAtMs: number, epoch: number): Promise<PartsRead> {
    const visit = { startsAtMs, epoch, round: 0, drop: [] as number[] };
    let tended = await Promise.all(this.each((part) => this.tend(part, visit)));
    const started = tended.every((t) => t.n !== null);
    if (started && this.parts > 1) {
      const round = Math.max(...tended.map((t) => t.seq));
      tended = await Promise.all(
        tended.map((t, part) => (t.seq < round ? this.tend(part, { ...visit, round }) : t)),
      );
    }
    this.tended = tended;
    await this.readGone();
    const seqs = tended.map((t) => t.seq);
    return {
      frontier: frontierOf(seqs),
      top: topOf(seqs),
      sizes: started ? tended.map((t) => t.n ?? 0) : null,
      sinceMs: Math.max(...tended.map((t) => t.since)),
    };
  }

  // The places behind the cursor (all of them before the draw) seen in none of the epoch's
  // bitmaps and the two before it.
  async idle(line: Line, cursor: number, epoch: number): Promise<number[]> {
    const seen = await Promise.all(
      this.each((part) => {
        const k = roomPartKeys(this.target.prefix, this.saleId, part, this.parts);
        return Promise.all(
          [0, 1, 2].map((back) => this.target.redis.getBuffer(k.seen(epoch - back))),
        );
      }),
    );
    const idle: number[] = [];
    const firstRank = line.n !== null && !line.order ? 1 : cursor + 1;
    for (let rank = firstRank; rank <= line.top; rank++) {
      const place = placeAtRank(line, rank);
      if (bitAt(line.gone, place)) continue;
      const { part, local } = partOfPlace(place, this.parts);
      if (seen[part]!.some((bitmap) => bitAt(bitmap, local))) continue;
      idle.push(place);
    }
    return idle;
  }

  // Gives up the places still idle when their partition is visited; how many it gave up.
  async drop(places: readonly number[], startsAtMs: number, epoch: number): Promise<number> {
    const byPart = new Map<number, number[]>();
    for (const place of places) {
      const { part, local } = partOfPlace(place, this.parts);
      const list = byPart.get(part);
      if (list) list.push(local);
      else byPart.set(part, [local]);
    }
    let dropped = 0;
    for (const [part, locals] of byPart) {
      for (let at = 0; at < locals.length; at += 1000) {
        const drop = locals.slice(at, at + 1000);
        const t = await this.tend(part, { startsAtMs, epoch, round: 0, drop });
        this.tended[part] = t;
        dropped += t.dropped;
      }
    }
    if (dropped > 0) await this.readGone();
    return dropped;
  }

  // The places-given-up bitmap's version, of a line in one partition.
  get gv(): number {
    return this.tended[0]?.gv ?? 0;
  }

  private each<T>(run: (part: number) => T): T[] {
    return Array.from({ length: this.parts }, (_, part) => run(part));
  }

  private async tend(part: number, visit: Parameters<typeof tendScript>[2]): Promise<Tended> {
    const k = roomPartKeys(this.target.prefix, this.saleId, part, this.parts);
    let tended = await tendScript(this.target, k, visit);
    if (tended === 'missing') {
      await restoreRoom(this.db, this.target, this.saleId, Date.now());
      tended = await tendScript(this.target, k, visit);
      if (tended === 'missing') throw new Error(`room ${this.saleId}: partition ${part} lost`);
    }
    return tended;
  }

  // Each partition's bitmap read again when its version moved; the line's composed from them.
  // One partition: the room's own bitmap, read every step as the views read it.
  private async readGone(): Promise<void> {
    const versions = this.tended.map((t) => `${t.inc}:${t.gv}`);
    const stale = this.each((part) => part).filter(
      (part) => this.parts === 1 || this.readOf[part] !== versions[part],
    );
    if (stale.length === 0) return;
    await Promise.all(
      stale.map(async (part) => {
        const k = roomPartKeys(this.target.prefix, this.saleId, part, this.parts);
        this.goneOf[part] = await this.target.redis.getBuffer(k.gone);
        this.readOf[part] = versions[part]!;
      }),
    );
    const gone =
      this.parts === 1
        ? (this.goneOf[0] ?? null)
        : composeBitmaps(
            this.each((part) => this.goneOf[part] ?? null),
            topOf(this.tended.map((t) => t.seq)),
          );
    // A sale over shards publishes the composed bitmap for the views (room-advance-6.lua).
    this.changed = this.parts > 1;
    this.gone = gone;
  }
}
