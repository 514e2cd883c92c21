import { roomSignalsKey } from '../gate/keys.js';
import type { RedisClient } from '../redis/connection.js';
import type { OutflowReason } from './view-doc.js';

type Signal = { limit: number; inFlight: number; shed: number; at: number };

// A process's signal older than this is from a process that stopped: left out, and removed.
const staleAfterMs = 5_000;
// The outflow's increase per second while no process sheds, as a share of the rate, and its
// multiplicative decrease when one does (AIMD, as TCP and concurrency-limits do). Until the
// first shed it doubles each second instead (TCP's slow start): a sale's first seconds are
// when the line is longest, and a quarter of the ceiling growing a fifth a second took 8 s to
// reach it.
const increase = 0.2;
const slowStartGrowth = 2;
const decrease = 0.7;
const floorRate = 1;
// After a cut, more sheds within this are the same congestion, not news of the cut's effect: a
// buyer admitted now buys only after their next poll (250 ms to 2 s), so the purchases a cut
// holds back arrive later. Cut on every 250 ms step, a sale's start took its purchases from
// about 300 a second to 57-93 (bench/README.md, "A lighter crowd driver and an outflow cut
// once a second"); TCP cuts once per round trip likewise.
const cutHoldMs = 1_000;
// Purchases in flight over this share of the processes' admission limits: the path is busy,
// and the rate holds. More admitted buyers would only queue, then be shed: the rate grows
// while there is headroom, not until the first 503 says there was none.
const busyShare = 0.5;

// The outflow of a room without admitPerSecond: it follows the adaptive admission of every API
// process (src/api/room-signals.ts publishes it). While any process sheds purchases the rate
// is cut, at most once a second; while their purchases in flight are under half their limits
// it grows, up to `ceiling`, and between the two it holds. Without any signal (ADMISSION=off)
// it is the ceiling, ROOM_ADMIT_PER_SECOND.
export class AdaptiveOutflow {
  private rate: number;
  private lastShed: number | null = null;
  private lastCutMs = -Infinity;
  private slowStart = true;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly ceiling: number,
  ) {
    this.rate = ceiling / 4;
  }

  // `limited`: the room's last step admitted all the rate allowed (not held back by the
  // start, the overbook bound or a short line). Only then does the rate grow: a rate never
  // used says nothing of what the purchase path takes (RFC 7661's application-limited rule),
  // and one grown through a prequeue would open the sale at the ceiling.
  async next(
    dtSeconds: number,
    nowMs: number,
    limited = true,
  ): Promise<{ rate: number; reason: OutflowReason }> {
    const key = roomSignalsKey(this.prefix);
    const all = await this.redis.hgetall(key);
    const fresh: Signal[] = [];
    for (const [field, value] of Object.entries(all)) {
      const signal = JSON.parse(value) as Signal;
      if (nowMs - signal.at <= staleAfterMs) fresh.push(signal);
      else await this.redis.hdel(key, field);
    }
    if (fresh.length === 0) return { rate: this.ceiling, reason: 'default' };
    const shed = fresh.reduce((sum, s) => sum + s.shed, 0);
    const inFlight = fresh.reduce((sum, s) => sum + s.inFlight, 0);
    const limit = fresh.reduce((sum, s) => sum + s.limit, 0);
    const shedding = this.lastShed !== null && shed > this.lastShed;
    this.lastShed = shed;
    const dt = Math.min(dtSeconds, 1);
    if (shedding) {
      if (nowMs - this.lastCutMs >= cutHoldMs) {
        this.rate = Math.max(floorRate, this.rate * decrease);
        this.lastCutMs = nowMs;
      }
      this.slowStart = false;
    } else if (limited && inFlight < limit * busyShare) {
      const growth = this.slowStart ? slowStartGrowth ** dt : 1 + increase * dt;
      this.rate = Math.min(this.ceiling, this.rate * growth + 1);
    }
    return { rate: this.rate, reason: 'adaptive' };
  }
}
