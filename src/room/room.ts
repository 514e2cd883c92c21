import { SingleFlight } from '../concurrency/single-flight.js';
import type { Database } from '../db/client.js';
import { findSale } from '../db/sales-repository.js';
import { findRoom } from '../db/rooms-repository.js';
import type { Logger } from '../observability/logger.js';
import type { RoomMetrics } from '../observability/room-metrics.js';
import type { RedisClient } from '../redis/connection.js';
import { partKeysOf, partOfBuyer, partOfPlace, placeOf as placeNumber } from './partitions.js';
import { placeOf, type PlaceAnswer } from './place.js';
import { pollAfterOf } from './poll-after.js';
import { roomRestorer } from './restore.js';
import { SeenPlaces } from './seen-places.js';
import type { RoomSnapshot, RoomViews } from './room-views.js';
import { JoinBatcher } from './join-batch.js';
import { leaveScript, useScript } from './scripts.js';
import { roomSettings, seenAt, type RoomSettings } from './settings.js';
import { RoomTokens, type Pass, type Ticket } from './tokens.js';

// Half a second: a pause PostgreSQL holds reaches a join within a second even when Redis
// forgot the gate's copy (src/api/routes/queue.ts).
const settingsMaxAgeMs = 500;

// ticketCacheBytes: what the tickets verified before may hold (RoomTokens).
export type RoomOptions = {
  passSecret: string;
  pollAfterMs: number;
  viewMs: number;
  ticketCacheBytes: number;
};

// A place as answered, with its tokens signed.
export type PlaceReply = PlaceAnswer & { ticket: string; passToken?: string; pollAfterMs: number };

// 'absent': no such sale; 'none': a sale without a room.
export type RoomLookup = RoomSettings | 'absent' | 'none';

// One API process's side of every waiting room: joins go to Redis in batches (./join-batch.ts),
// leaves one script each; polls are answered from memory (./room-views.ts) and the places they
// saw are flushed in one script per room per interval. Passes are verified here, without Redis.
export class Rooms {
  readonly tokens: RoomTokens;
  private readonly settings = new Map<number, { value: RoomLookup; atMs: number }>();
  private readonly reading = new SingleFlight<number, RoomLookup>();
  private timer: NodeJS.Timeout | null = null;
  private readonly joins: JoinBatcher;
  private readonly partKeys: ReturnType<typeof partKeysOf>;
  private readonly restore: ReturnType<typeof roomRestorer>;
  private readonly seen: SeenPlaces;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly db: Database,
    readonly views: RoomViews,
    private readonly options: RoomOptions,
    private readonly metrics: RoomMetrics,
    private readonly logger: Logger,
  ) {
    this.tokens = new RoomTokens(options.passSecret, options.ticketCacheBytes);
    const target = { redis, prefix };
    this.joins = new JoinBatcher(target);
    this.partKeys = partKeysOf(prefix);
    this.restore = roomRestorer(db, target);
    this.seen = new SeenPlaces({
      target,
      partKeys: this.partKeys,
      restore: this.restore,
      settingsOf: (saleId) => {
        const room = this.settings.get(saleId)?.value;
        return typeof room === 'object' ? room : undefined;
      },
      logger,
    });
  }

  start(): void {
    this.views.start();
    this.timer ??= setInterval(() => void this.seen.flush(), this.options.viewMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.views.stop();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.seen.flush();
  }

  // The room's settings from PostgreSQL, read again in the background half a second old: an
  // admin's change of the sale's end reaches every process within a second (API.md).
  async lookup(saleId: number): Promise<RoomLookup> {
    return this.known(saleId) ?? this.read(saleId);
  }

  // What lookup answers without waiting (read again in the background the same way), or
  // undefined when this process has not read the settings yet.
  known(saleId: number): RoomLookup | undefined {
    const known = this.settings.get(saleId);
    if (known === undefined) return undefined;
    if (Date.now() - known.atMs >= settingsMaxAgeMs) void this.read(saleId).catch(() => undefined);
    return known.value;
  }

  private read(saleId: number): Promise<RoomLookup> {
    return this.reading.run(saleId, async () => {
      const [sale, room] = await Promise.all([
        findSale(this.db, saleId),
        findRoom(this.db, saleId),
      ]);
      const found: RoomLookup = !sale ? 'absent' : !room ? 'none' : roomSettings(sale, room);
      // A sale not found may be created next: not remembered.
      if (found !== 'absent') this.settings.set(saleId, { value: found, atMs: Date.now() });
      return found;
    });
  }

  // 'paused', 'ended': the gate holds the sale paused, or past its end (the join script
  // refused it; nothing written).
  async join(
    room: RoomSettings,
    buyer: string,
    ticketToken?: string,
  ): Promise<PlaceReply | null | 'paused' | 'ended'> {
    const ticket = this.tokens.readTicket(buyer, room.saleId, ticketToken);
    const now = Date.now();
    const seen = seenAt(now, room.idleSeconds);
    const { part, keys, local } = this.partOf(room, buyer, ticket?.place);
    const joinIt = () =>
      this.joins.join(keys, room.startsAtMs, seen, { buyer, ticketPlace: local });
    let joined = await joinIt();
    if (joined === 'missing') {
      await this.restore(room.saleId, now);
      joined = await joinIt();
      if (joined === 'missing') throw new Error(`room ${room.saleId} could not be restored`);
    }
    if (joined === 'paused' || joined === 'ended') return joined;
    if (!joined.existed) this.metrics.joins.inc();
    const joinedAtMs = joined.existed && ticket ? ticket.joinedAtMs : joined.nowMs;
    const place = placeNumber(part, joined.place, room.shards);
    // The script answers only a place that is not given up: one a ticket brought back is
    // still given up in this process's copy of the line until the admitter publishes.
    if (joined.existed) this.views.markLive(room.saleId, place);
    const ticketOf = { saleId: room.saleId, place, joinedAtMs, admitted: false };
    return this.reply(room, buyer, ticketOf, undefined, false);
  }

  // The buyer's place: from the ticket when it is theirs, else (a client without one) from
  // Redis. Null: not in line, or the place was given up.
  async place(room: RoomSettings, buyer: string, ticketToken?: string): Promise<PlaceReply | null> {
    const ticket = this.tokens.readTicket(buyer, room.saleId, ticketToken);
    if (ticket) return this.reply(room, buyer, ticket, ticketToken);
    const { part, keys } = this.partOf(room, buyer);
    const local = await this.redis.hget(keys.buyers, buyer);
    if (local === null) return null;
    return this.reply(room, buyer, {
      saleId: room.saleId,
      place: placeNumber(part, Number(local), room.shards),
      joinedAtMs: Date.now(),
      admitted: false,
    });
  }

  // The poll's answer when everything it needs is in memory: a valid ticket of this buyer's
  // and the room's view (src/api/poll-front.ts). Undefined: `place` must answer it.
  placeKnown(room: RoomSettings, buyer: string, ticketToken?: string): PlaceReply | undefined {
    const ticket = this.tokens.readTicket(buyer, room.saleId, ticketToken);
    if (!ticket) return undefined;
    const now = Date.now();
    const snapshot = this.views.current(room.saleId, now);
    if (!snapshot) return undefined;
    return this.replyFrom(snapshot, now, room, buyer, ticket, ticketToken) ?? undefined;
  }

  async leave(room: RoomSettings, buyer: string, ticketToken?: string): Promise<void> {
    const ticket = this.tokens.readTicket(buyer, room.saleId, ticketToken);
    const target = { redis: this.redis, prefix: this.prefix };
    const { keys, local } = this.partOf(room, buyer, ticket?.place);
    await leaveScript(target, keys, buyer, local);
    if (ticket) this.views.markGone(room.saleId, ticket.place);
    this.seen.forget(room.saleId, buyer);
    this.metrics.leaves.inc();
  }

  // The buyer's partition of the line (their home shard's, on a sale over shards), and the
  // local number of the place their ticket names (0: none, or not in that partition).
  private partOf(room: RoomSettings, buyer: string, place?: number) {
    const part = partOfBuyer(buyer, room.shards);
    const keys = this.partKeys(room.saleId, part, room.shards);
    const named = place ? partOfPlace(place, room.shards) : null;
    return { part, keys, local: named?.part === part ? named.local : 0 };
  }

  // The buyer's pass for this sale when it is valid now; verified in memory.
  passOf(saleId: number, buyer: string, token: string | undefined): Pass | null {
    const pass = this.tokens.readPass(buyer, saleId, token, Date.now());
    if (!pass) this.metrics.passRefusals.inc();
    return pass;
  }

  // A purchase went through with this pass: counted as used once (not awaited by the buyer).
  passUsed(saleId: number, pass: Pass): void {
    useScript({ redis: this.redis, prefix: this.prefix }, saleId, pass.rank, pass.expiresAtMs).then(
      (first) => first && this.metrics.passesUsed.inc(),
      (error: unknown) => this.logger.warn({ err: error, saleId }, 'pass use not counted'),
    );
  }

  // `given`: the buyer's valid token for `ticket`, answered back as it is while its numbers
  // hold (signing them again would give the same token, for an HMAC). `seen`: false for a
  // join, whose script marked the place seen already (the next flush would do it again).
  private async reply(
    room: RoomSettings,
    buyer: string,
    ticket: Ticket,
    given?: string,
    seen = true,
  ): Promise<PlaceReply | null> {
    const now = Date.now();
    const snapshot = await this.views.snapshot(room.saleId, now);
    return this.replyFrom(snapshot, now, room, buyer, ticket, given, seen);
  }

  // reply's answer from the snapshot read at `now`.
  private replyFrom(
    snapshot: RoomSnapshot,
    now: number,
    room: RoomSettings,
    buyer: string,
    ticket: Ticket,
    given?: string,
    seen = true,
  ): PlaceReply | null {
    const answer = placeOf(
      { ...snapshot, startsAtMs: room.startsAtMs, endsAtMs: room.endsAtMs, nowMs: now },
      ticket.place,
    );
    if (answer === 'gone') return null;
    if (seen) this.seen.mark(room.saleId, buyer, ticket.place);
    const admitted = answer.state === 'admitted';
    if (admitted && !ticket.admitted) {
      this.metrics.timeInLine.observe(Math.max(0, now - ticket.joinedAtMs) / 1000);
    }
    const pollAfterMs = pollAfterOf(answer, ticket.place, {
      baseMs: this.options.pollAfterMs,
      nowMs: now,
      startsAtMs: room.startsAtMs,
    });
    return {
      ...answer,
      pollAfterMs,
      ticket:
        given !== undefined && ticket.admitted === admitted
          ? given
          : this.tokens.ticket(buyer, { ...ticket, admitted }),
      ...(answer.pass
        ? { passToken: this.tokens.pass(buyer, { saleId: room.saleId, ...answer.pass }) }
        : {}),
    };
  }
}
