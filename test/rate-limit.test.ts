import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor, type TestEnv } from './support/env.js';
import { client, type System, openSystem, closeSystem } from './support/system.js';
import { assertOracle, type Answer } from './support/oracle.js';
import { loadConfig } from '../src/config.js';

describe('the per-buyer rate limit', () => {
  let env: TestEnv;
  let sut: System;

  beforeAll(async () => {
    ({ env, sut } = await openSystem('ratelimit', {
      RATE_LIMIT_CAPACITY: '3',
      RATE_LIMIT_REFILL_PER_SECOND: '0.5',
    }));
  });
  afterAll(async () => {
    await closeSystem(sut, env);
  });

  it('defaults to a burst of 20 and 10 tokens a second', () => {
    const config = loadConfig({});
    expect(config.gate.rateLimitCapacity).toBe(20);
    expect(config.gate.rateLimitRefillPerSecond).toBe(10);
  });

  it('answers 429 with Retry-After once a buyer spends the burst, then lets them in again', async () => {
    const api = client(sut.baseUrl, env);
    const created = await api.createSale({ sku: 'rate-1', name: 'Rate', stock: 100 });
    const saleId = created.body.id as number;
    const answers: Answer[] = [];
    const buy = async (buyer: string) => {
      const answer = await api.purchase(saleId, buyer);
      answers.push({ status: answer.status, orderId: answer.body?.orderId, buyer, quantity: 1 });
      return answer;
    };

    // Refused attempts spend tokens too: the bucket is taken before the buyer's limit.
    const burst = [await buy('alice'), await buy('alice'), await buy('alice')];
    expect(burst.map((a) => a.status)).toEqual([202, 409, 409]);
    expect(burst[1]!.body.error.code).toBe('LIMIT_REACHED');

    const limited = await buy('alice');
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('RATE_LIMITED');
    // One token every 2 s: the wait announced is a whole number of seconds, at most 2.
    expect(limited.headers.get('retry-after')).toMatch(/^[12]$/);

    // Another buyer has a bucket of their own.
    expect((await buy('bob')).status).toBe(202);

    const later = await waitFor(
      async () => {
        const answer = await buy('alice');
        return answer.status === 429 ? null : answer;
      },
      { timeoutMs: 15_000, intervalMs: 250, what: 'a token back in the bucket' },
    );
    expect(later.status).toBe(409);
    expect(later.body.error.code).toBe('LIMIT_REACHED');

    const metrics = String((await api.raw('GET', '/metrics', {})).body);
    expect(metrics).toMatch(/flashline_gate_outcomes_total\{outcome="rate_limited"[^}]*\} [1-9]/);
    const result = await assertOracle(env, saleId, answers);
    expect(result.confirmedUnits).toBe(2);
  });
});
