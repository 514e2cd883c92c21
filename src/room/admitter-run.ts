import type { Database } from '../db/client.js';
import { findRoom, saveProgress, unitsThatMayReturn } from '../db/rooms-repository.js';
import { roomKeys } from '../gate/keys.js';
import type { RoomMetrics } from '../observability/room-metrics.js';
import { drawOnce } from './draw.js';
import { LineParts } from './line-parts.js';
import { regionSize } from './partitions.js';
import { AdaptiveOutflow } from './outflow.js';
import { restoreRoom } from './restore.js';
import { advanceScript, type RoomTarget } from './scripts.js';
import { epochOf, type RoomSettings } from './settings.js';
import type { OutflowReason, RoomStatus } from './view-doc.js';
import { budgetOf, viewDoc, walk, type Line, type Outflow } from './walk.js';

export type AdmitterOptions = {
  tickMs: number;
  leaseMs: number;
  overbook: number;
  // The outflow of a room without admitPerSecond (ROOM_ADMIT_PER_SECOND).
  defaultRate: number;
  // How long a place waits between polls (ROOM_POLL_AFTER_MS).
  pollAfterMs: number;
};

// What the admitter reads of the sale behind the room: the gate's units and in-flight orders.
// `remaining` is null for a sale Redis does not hold; the reading asks for it to be loaded back.
export type SaleReadings = {
  remaining(saleId: number): Promise<number | null>;
  inflightIds(saleId: number): Promise<string[]>;
  // The kill switch: nobody is admitted to a paused sale.
  paused(saleId: number): Promise<boolean>;
};

type Batch = { expiresAtMs: number; to: number; passes: number; used: number };

// A line over shards publishes its bitmap of places given up at most this often.
const publishEveryMs = 1_000;

// Units that may come back are counted in PostgreSQL at most this often.
const mayReturnEveryMs = 1_000;

// One room's admitter, in the process holding its lease: each step reads the line, draws the
// prequeue once at the start, drops idle places, admits from the front within the outflow and
// the overbook bound, writes the step to PostgreSQL, then to Redis fenced by the lease.
export class AdmitterRun {
  private allowance = 0;
  private lastStepMs = 0;
  // The last step admitted all the rate allowed: the outflow may grow (./outflow.ts).
  private rateLimited = false;
  private order: Uint32Array | null = null;
  private sweptEpoch = -1;
  private measured = 0;
  private mayReturn = { atMs: 0, count: 0 };
  private reconciled = false;
  private lastStatus: RoomStatus = 'open';
  // The gone bitmap's version last written to PostgreSQL.
  private savedGv = -1;
  private publishedAtMs = 0;
  private readonly parts: LineParts;
  private readonly outflow: AdaptiveOutflow;

  constructor(
    private room: RoomSettings,
    private readonly token: string,
    private readonly target: RoomTarget,
    private readonly db: Database,
    private readonly readings: SaleReadings,
    private readonly options: AdmitterOptions,
    private readonly metrics: RoomMetrics,
  ) {
    this.outflow = new AdaptiveOutflow(target.redis, target.prefix, options.defaultRate);
    this.parts = new LineParts(target, db, room.saleId, room.shards);
  }

  update(room: RoomSettings): void {
    this.room = room;
  }

  async step(nowMs: number): Promise<'ok' | 'lost'> {
    const keys = roomKeys(this.target.prefix, this.room.saleId);
    const { state, cursor, line, read } = await this.readLine(nowMs);
    await this.sweepIdle(line, cursor, Math.max(Number(state.since ?? 0), read.sinceMs), nowMs);
    line.gone = this.parts.gone;
    // Over shards, the line's bitmap composed anew is published with the step, a new version.
    // At most once a publishEveryMs: a line over shards changes its bitmap at nearly every
    // step while the crowd joins (counters raised), and nobody holds the places passed over.
    const publish =
      this.parts.changed && nowMs - this.publishedAtMs >= publishEveryMs
        ? { bitmap: line.gone ?? Buffer.alloc(1), gv: Number(state.gv ?? 0) + 1 }
        : null;
    const gv = publish?.gv ?? (this.parts.parts === 1 ? this.parts.gv : Number(state.gv ?? 0));
    const status = await this.statusOf(nowMs);
    const batches = await this.batches(keys.batches, keys.used);
    const live = batches.filter((b) => b.expiresAtMs > nowMs);
    const expired = batches.filter((b) => b.expiresAtMs <= nowMs);
    for (const b of expired) {
      this.metrics.passesExpired.inc(this.label, Math.max(0, b.passes - b.used));
    }
    const outstanding = live.reduce((sum, b) => sum + Math.max(0, b.passes - b.used), 0);
    const paused = await this.readings.paused(this.room.saleId);
    const { moved, outflow } = await this.admit(
      line,
      cursor,
      status.remaining,
      outstanding,
      nowMs,
      paused,
    );
    const admitted = Number(state.admitted ?? 0) + moved.admitted;
    const batch =
      moved.admitted > 0
        ? { expiresAtMs: nowMs + this.room.passSeconds * 1000, to: moved.cursor }
        : null;
    if (batch) live.push({ ...batch, passes: moved.admitted, used: 0 });
    // PostgreSQL first: what Redis is told has been made durable, so a Redis that forgets
    // is rebuilt at or past it (./restore.ts), never behind.
    await saveProgress(this.db, this.room.saleId, {
      joined: read.top,
      admittedTo: moved.cursor,
      admitted,
      batches: live.map((b) => [b.to, b.expiresAtMs, b.passes]),
      // The bitmap only when it moved: a million places is 125 kB.
      ...(line.gone && this.savedGv !== gv ? { gone: line.gone } : {}),
    });
    const doc = viewDoc({
      inc: state.inc ?? '',
      nowMs,
      status: status.status,
      line,
      drawn: line.n !== null && line.order !== null,
      cursor: moved.cursor,
      admitted,
      batches: live.map((b) => [b.to, b.expiresAtMs]),
      outflow,
      gv,
    });
    const written = await advanceScript(this.target, this.room.saleId, {
      token: this.token,
      incarnation: state.inc ?? '',
      cursor: moved.cursor,
      issued: moved.admitted,
      batch,
      view: JSON.stringify(doc),
      gone: publish,
      expired: expired.map((b) => b.expiresAtMs),
    });
    if (written === 'NOT_OURS') return 'lost';
    this.savedGv = gv;
    if (written === 'OK' && publish) {
      this.parts.changed = false;
      this.publishedAtMs = nowMs;
    }
    if (written === 'OK') this.record(doc.waiting, moved.admitted, outflow, outstanding);
    return 'ok';
  }

  // The room's state (rebuilt from PostgreSQL when Redis forgot it), the cursor, and the line
  // in rank order: its partitions visited, the prequeue frozen and drawn once started.
  private async readLine(nowMs: number) {
    const { redis } = this.target;
    const keys = roomKeys(this.target.prefix, this.room.saleId);
    let state = await redis.hgetall(keys.state);
    if (!state.inc) {
      await restoreRoom(this.db, this.target, this.room.saleId, nowMs);
      this.order = null;
      state = await redis.hgetall(keys.state);
    }
    let cursor = Number(state.cursor ?? 0);
    // A new holder: PostgreSQL is written before Redis, so a holder that died between the two
    // left Redis behind it.
    if (!this.reconciled) {
      cursor = Math.max(cursor, (await findRoom(this.db, this.room.saleId))?.admittedTo ?? 0);
      this.reconciled = true;
    }
    const read = await this.parts.visit(
      this.room.startsAtMs,
      epochOf(nowMs, this.room.idleSeconds),
    );
    if (read.sizes !== null && !this.order) {
      this.order = await drawOnce(this.db, this.target, this.room.saleId, read.sizes);
    }
    const n = this.order?.length ?? (read.sizes && regionSize(read.sizes));
    const line: Line = { top: read.frontier, n, order: this.order, gone: this.parts.gone };
    return { state, cursor, line, read };
  }

  // The step's admissions: the rate's allowance under the overbook bound, from the front, once
  // the line is drawn and while the sale runs.
  private async admit(
    line: Line,
    cursor: number,
    remaining: number,
    outstanding: number,
    nowMs: number,
    paused: boolean,
  ) {
    const dt =
      this.lastStepMs === 0 ? this.options.tickMs / 1000 : (nowMs - this.lastStepMs) / 1000;
    const { rate, reason: rateReason } = await this.rate(dt, nowMs);
    this.lastStepMs = nowMs;
    // At most a second's worth saved up: an idle room does not admit a burst later.
    this.allowance = Math.min(Math.max(rate, 1), this.allowance + rate * Math.min(dt, 1));
    const { budget, reason } = paused
      ? { budget: 0, reason: 'paused' as const }
      : budgetOf(this.allowance, remaining, this.options.overbook, outstanding, rateReason);
    const running =
      nowMs >= this.room.startsAtMs && (this.room.endsAtMs === null || nowMs < this.room.endsAtMs);
    const drawn = line.n !== null && line.order !== null;
    const moved = drawn && running ? walk(line, cursor, budget) : { cursor, admitted: 0 };
    // Not within a poll interval of the start: a buyer admitted buys only after their next
    // poll, so until then no purchase has tried the rate, and the outflow's slow start had
    // grown it into the crowd's first polls (bench/README.md, "The outflow held at the start").
    const tried = nowMs >= this.room.startsAtMs + this.options.pollAfterMs;
    this.rateLimited = tried && reason === rateReason && budget > 0 && moved.admitted >= budget;
    this.allowance -= moved.admitted;
    const limit =
      reason === 'sold_out' || reason === 'paused'
        ? 0
        : reason === 'overbook'
          ? budget / Math.max(dt, 0.001)
          : rate;
    // The places' ETA divides by the published rate. Paused, nobody is admitted: the view says
    // 0 (no ETA), and the average is kept as it was, for the resume; averaged in, the pause's
    // zeros told a growing wait. A step that admitted less than its budget ran out of line (or
    // ran before the start): nobody waited on the outflow, so its admissions say how many
    // came, not how fast the room lets them in; averaged in, a quiet line's rate decayed
    // towards 0 and the next buyer to join, first in line, was told a wait of hours or days.
    if (reason === 'paused') return { moved, outflow: { rate: 0, limit, reason } };
    const sample = moved.admitted < budget ? limit : moved.admitted / Math.max(dt, 0.001);
    this.measured = 0.8 * this.measured + 0.2 * sample;
    return { moved, outflow: { rate: this.measured, limit, reason } };
  }

  private get label() {
    return { sale: String(this.room.saleId) };
  }

  private record(waiting: number, admitted: number, outflow: Outflow, outstanding: number) {
    this.metrics.waiting.set(this.label, waiting);
    this.metrics.admitted.inc(this.label, admitted);
    this.metrics.outflowLimit.set(this.label, outflow.limit);
    this.metrics.outstandingPasses.set(this.label, outstanding + admitted);
    this.metrics.setReason(this.room.saleId, outflow.reason);
  }

  private async rate(dt: number, nowMs: number): Promise<{ rate: number; reason: OutflowReason }> {
    if (this.room.admitPerSecond !== null) {
      return { rate: this.room.admitPerSecond, reason: 'fixed' };
    }
    return this.outflow.next(dt, nowMs, this.rateLimited);
  }

  // Sold out: `held` while units in orders not yet final (or unpaid in a payment window) may
  // come back, `closed` once none can. A sale Redis does not hold (being loaded back) is not
  // judged: the last status stands and nobody is admitted until its units are known.
  private async statusOf(nowMs: number): Promise<{ status: RoomStatus; remaining: number }> {
    const remaining = await this.readings.remaining(this.room.saleId);
    if (remaining === null) return { status: this.lastStatus, remaining: 0 };
    if (remaining > 0) return { status: (this.lastStatus = 'open'), remaining };
    if (nowMs - this.mayReturn.atMs >= mayReturnEveryMs) {
      const inflight = (await this.readings.inflightIds(this.room.saleId)).length;
      const rows = inflight > 0 ? 0 : await unitsThatMayReturn(this.db, this.room.saleId);
      this.mayReturn = { atMs: nowMs, count: inflight + rows };
    }
    this.lastStatus = this.mayReturn.count > 0 ? 'held' : 'closed';
    return { status: this.lastStatus, remaining };
  }

  private async batches(batchesKey: string, usedKey: string): Promise<Batch[]> {
    const [issued, used] = await Promise.all([
      this.target.redis.hgetall(batchesKey),
      this.target.redis.hgetall(usedKey),
    ]);
    return Object.entries(issued)
      .map(([expiry, value]) => {
        const [to, passes] = value.split(':').map(Number);
        return {
          expiresAtMs: Number(expiry),
          to: to ?? 0,
          passes: passes ?? 0,
          used: Number(used[expiry] ?? 0),
        };
      })
      .sort((a, b) => a.to - b.to);
  }

  // Once per epoch: places seen in none of the last three epochs (idleSeconds at least) and
  // not yet admitted are given up. Not within an idle period of the state's (re)creation:
  // the seen bitmaps start empty then.
  private async sweepIdle(line: Line, cursor: number, sinceMs: number, nowMs: number) {
    const epoch = epochOf(nowMs, this.room.idleSeconds);
    if (epoch === this.sweptEpoch || nowMs < sinceMs + this.room.idleSeconds * 1500) return;
    this.sweptEpoch = epoch;
    const idle = await this.parts.idle(line, cursor, epoch);
    if (idle.length === 0) return;
    const dropped = await this.parts.drop(idle, this.room.startsAtMs, epoch);
    this.metrics.idleDrops.inc(this.label, dropped);
  }
}
