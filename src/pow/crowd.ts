import type { RedisClient } from '../redis/connection.js';
import { proofOfWorkKeys } from '../gate/keys.js';

export type CostCurve = { minCost: number; maxCost: number; crowdRate: number };

// mCaptcha's rule: the more attempts the sale sees per second, the more each one costs. From
// minCost with nobody about, in a straight line, to maxCost at crowdRate and beyond.
export function costFor(attemptsPerSecond: number, curve: CostCurve): number {
  const share = Math.min(1, attemptsPerSecond / curve.crowdRate);
  return Math.round(curve.minCost + (curve.maxCost - curve.minCost) * share);
}

export type ChallengeLimits = {
  buyerLimit: number;
  addressLimit: number;
  limitWindowSeconds: number;
};

export type Admission =
  { kind: 'admitted' } | { kind: 'limited'; by: 'buyer' | 'address'; retryAfterSeconds: number };

type Results = [Error | null, unknown][] | null;

// A command's answer within a MULTI's results; an error there is thrown, not read as zero.
function numberAt(results: Results, index: number): number {
  const [error, value] = results?.[index] ?? [null, 0];
  if (error) throw error;
  return Number(value ?? 0);
}

// The sale's attempts, counted in Redis so every API process sees all of them: a counter per
// wall-clock second (each lives 3 s), and fixed windows per buyer and per client address for
// the challenge limits. Every key is under the sale's tag: each MULTI touches one slot.
export class Crowd {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  // Counts a challenge request against its buyer's and its address's window (either limit 0:
  // not counted), in one round trip.
  async admit(
    saleId: number,
    buyer: string,
    address: string | null,
    limits: ChallengeLimits,
    nowMs: number,
  ): Promise<Admission> {
    const keys = proofOfWorkKeys(this.prefix, saleId);
    const window = Math.floor(nowMs / 1000 / limits.limitWindowSeconds);
    const ttl = limits.limitWindowSeconds + 1;
    const buyerKey = limits.buyerLimit > 0 ? keys.buyerWindow(buyer, window) : null;
    const addressKey =
      limits.addressLimit > 0 && address !== null ? keys.addressWindow(address, window) : null;
    if (!buyerKey && !addressKey) return { kind: 'admitted' };
    const multi = this.redis.multi();
    for (const key of [buyerKey, addressKey]) if (key) multi.incr(key).expire(key, ttl);
    const results = await multi.exec();
    const buyerCount = buyerKey ? numberAt(results, 0) : 0;
    const addressCount = addressKey ? numberAt(results, buyerKey ? 2 : 0) : 0;
    const retryAfterSeconds = Math.max(
      1,
      Math.ceil((window + 1) * limits.limitWindowSeconds - nowMs / 1000),
    );
    if (buyerKey && buyerCount > limits.buyerLimit)
      return { kind: 'limited', by: 'buyer', retryAfterSeconds };
    if (addressKey && addressCount > limits.addressLimit)
      return { kind: 'limited', by: 'address', retryAfterSeconds };
    return { kind: 'admitted' };
  }

  // Counts one attempt (a challenge issued) and returns the sale's rate: this second's count
  // so far, or the last whole second's when higher. One round trip; a burst raises the cost
  // within its own second, and the cost falls back two seconds after it ends.
  async attempt(saleId: number, nowMs: number): Promise<number> {
    const keys = proofOfWorkKeys(this.prefix, saleId);
    const second = Math.floor(nowMs / 1000);
    const results = await this.redis
      .multi()
      .incr(keys.crowd(second))
      .expire(keys.crowd(second), 3)
      .get(keys.crowd(second - 1))
      .exec();
    return Math.max(numberAt(results, 0), numberAt(results, 2));
  }
}
