import type { Challenge } from 'altcha-lib';
import type { RedisClient } from '../redis/connection.js';
import type { ProofOfWorkConfig } from '../config.js';
import type { PowMetrics } from '../observability/pow-metrics.js';
import { proofOfWorkKeys } from '../gate/keys.js';
import { challengeSecrets, createSaleChallenge, type ChallengeSecrets } from './challenge.js';
import { checkSolution, type FailureReason } from './solution.js';
import { costFor, Crowd, type ChallengeLimits } from './crowd.js';
import { spendSolution } from './spent-solutions.js';

export type IssueOutcome =
  | { kind: 'issued'; challenge: Challenge; cost: number }
  | { kind: 'limited'; retryAfterSeconds: number };

// What a purchase (a sale without a room) or a join (a sale with one) learns of its X-Altcha.
export type PowVerdict =
  { kind: 'accepted' } | { kind: 'required' } | { kind: 'failed'; reason: FailureReason | 'used' };

export type ProofOfWorkOptions = {
  prefix: string;
  pow: ProofOfWorkConfig;
  limits: ChallengeLimits;
  metrics?: PowMetrics | undefined;
  now?: () => number;
};

// A used solution is remembered this much past its challenge's expiry, for API processes whose
// clocks run behind the one that checked it.
const clockMarginSeconds = 30;

// Proof of work for the sales that ask for it: challenges issued at a cost that follows the
// crowd, and solutions accepted once across every API process. Which sales ask for it is the
// caller's to know (src/api/proof-of-work-sales.ts).
export class ProofOfWork {
  private readonly secrets: ChallengeSecrets;
  private readonly crowd: Crowd;
  private readonly now: () => number;

  constructor(
    private readonly redis: RedisClient,
    private readonly options: ProofOfWorkOptions,
  ) {
    this.secrets = challengeSecrets(options.pow.secret);
    this.crowd = new Crowd(redis, options.prefix);
    this.now = options.now ?? Date.now;
  }

  // GET /sales/:saleId/challenge: within the buyer's and the address's limits, a challenge for
  // this buyer and sale at the cost the sale's rate of attempts sets; before the sale starts,
  // at the highest cost, since a challenge asked early can be solved early and kept for the
  // opening second's crowd. `address` is the client's bucket (src/api/client-address.ts),
  // null when unknown.
  async issue(
    saleId: number,
    buyer: string,
    address: string | null,
    startsAtMs: number,
  ): Promise<IssueOutcome> {
    const nowMs = this.now();
    const admission = await this.crowd.admit(saleId, buyer, address, this.options.limits, nowMs);
    const metrics = this.options.metrics;
    if (admission.kind === 'limited') {
      metrics?.challenges.inc({ outcome: `limited_${admission.by}` });
      return { kind: 'limited', retryAfterSeconds: admission.retryAfterSeconds };
    }
    const rate = await this.crowd.attempt(saleId, nowMs);
    const cost = nowMs < startsAtMs ? this.options.pow.maxCost : costFor(rate, this.options.pow);
    const challenge = await createSaleChallenge(this.secrets, {
      buyer,
      saleId,
      cost,
      attempts: this.options.pow.attempts,
      lifetimeSeconds: this.options.pow.challengeSeconds,
      nowMs,
    });
    metrics?.challenges.inc({ outcome: 'issued' });
    metrics?.cost.observe(cost);
    return { kind: 'issued', challenge, cost };
  }

  // The check of an X-Altcha header: the work, the signature, the expiry, this buyer and this
  // sale, then one use across every process (a retry with the same Idempotency-Key is the same
  // use). What the waiting room's join calls for a sale with proof of work, as the purchase
  // does for a sale without a room. Throws only when Redis cannot be reached.
  async verify(
    saleId: number,
    buyer: string,
    header: string | undefined,
    idempotencyKey?: string,
  ): Promise<PowVerdict> {
    const verdict = await this.judge(saleId, buyer, header, idempotencyKey);
    this.options.metrics?.checks.inc({
      outcome: verdict.kind === 'failed' ? verdict.reason : verdict.kind,
    });
    return verdict;
  }

  private async judge(
    saleId: number,
    buyer: string,
    header: string | undefined,
    idempotencyKey: string | undefined,
  ): Promise<PowVerdict> {
    const check = checkSolution(this.secrets, header, buyer, saleId);
    if (check.kind === 'missing') return { kind: 'required' };
    if (check.kind === 'failed') return check;
    const key = proofOfWorkKeys(this.options.prefix, saleId).spent(check.nonce);
    const ttl = check.expiresAt - Math.floor(this.now() / 1000) + clockMarginSeconds;
    const spent = await spendSolution(this.redis, key, ttl, idempotencyKey);
    return spent === 'used' ? { kind: 'failed', reason: 'used' } : { kind: 'accepted' };
  }
}
