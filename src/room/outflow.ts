import { roomSignalsKey } from '../gate/keys.js';
import type { RedisClient } from '../redis/connection.js';
import type { OutflowReason } from './view-doc.js';

type Signal = { limit: number; inFlight: number; shed: number; at: number };

// A process's signal older than this is from a process that stopped: left out, and removed.
const staleAfterMs = 5_000;
// The outflow's additive increase per second while no process sheds, as a share of the rate,
// and its multiplicative decrease when one does (AIMD, as TCP and concurrency-limits do).
const increase = 0.2;
const decrease = 0.7;
const floorRate = 1;

// The outflow of a room without admitPerSecond: it follows the adaptive admission of every API
// process (src/api/room-signals.ts publishes it). While any process sheds purchases the rate
// is cut; while all have room under their limits it grows, up to `ceiling`. Without any
// signal (ADMISSION=off) it is the ceiling, ROOM_ADMIT_PER_SECOND.
export class AdaptiveOutflow {
  private rate: number;
  private lastShed: number | null = null;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly ceiling: number,
  ) {
    this.rate = ceiling / 4;
  }

  async next(dtSeconds: number, nowMs: number): Promise<{ rate: number; reason: OutflowReason }> {
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
    if (shedding) this.rate = Math.max(floorRate, this.rate * decrease);
    else if (inFlight < limit) {
      this.rate = Math.min(this.ceiling, this.rate * (1 + increase * Math.min(dtSeconds, 1)) + 1);
    }
    return { rate: this.rate, reason: 'adaptive' };
  }
}
