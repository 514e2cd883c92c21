import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, waitFor, type TestEnv } from './support/env.js';
import { client, startSystem, type System } from './support/system.js';
import { assertOracle, type Answer } from './support/oracle.js';

// Keeps this process's event loop busy: every turn spends `ms` in a busy wait.
function hogEventLoop(ms: number): () => void {
  const timer = setInterval(() => {
    const until = performance.now() + ms;
    while (performance.now() < until);
  }, 1);
  return () => clearInterval(timer);
}

describe('admission control on event-loop lag', () => {
  let env: TestEnv;
  let sut: System;

  beforeAll(async () => {
    env = await createTestEnv('shedding', {
      EVENT_LOOP_LAG_SHED_MS: '40',
      EVENT_LOOP_LAG_SAMPLE_MS: '100',
    });
    sut = await startSystem(env);
  });
  afterAll(async () => {
    await sut?.stop();
    await env?.cleanup();
  });

  it('sheds purchases with 503 while the loop lags, and lets them in once it recovers', async () => {
    const api = client(sut.baseUrl, env);
    const created = await api.createSale({ sku: 'shed-1', name: 'Shed', stock: 10_000 });
    const saleId = created.body.id as number;
    const answers: Answer[] = [];
    let seq = 0;
    const buy = async () => {
      const buyer = `buyer-${seq++}`;
      const answer = await api.purchase(saleId, buyer);
      answers.push({ status: answer.status, orderId: answer.body?.orderId, buyer, quantity: 1 });
      return answer;
    };
    expect((await buy()).status).toBe(202);

    const release = hogEventLoop(80);
    let shed;
    try {
      shed = await waitFor(
        async () => {
          const answer = await buy();
          return answer.status === 503 ? answer : null;
        },
        { timeoutMs: 30_000, intervalMs: 0, what: 'a shed purchase' },
      );
      // Health checks are never shed: an overloaded process is alive, not dead.
      expect((await api.raw('GET', '/healthz', {})).status).toBe(200);
    } finally {
      release();
    }
    expect(shed.body.error.code).toBe('UNAVAILABLE');
    expect(shed.headers.get('retry-after')).toBe('1');

    await waitFor(async () => (await buy()).status === 202, {
      timeoutMs: 30_000,
      what: 'purchases accepted again',
    });

    const metrics = String((await api.raw('GET', '/metrics', {})).body);
    expect(metrics).toMatch(/flashline_gate_outcomes_total\{outcome="shed"[^}]*\} [1-9]/);
    // A shed purchase reserved nothing: the oracle counts Redis and PostgreSQL.
    const result = await assertOracle(env, saleId, answers);
    expect(result.confirmedUnits).toBe(answers.filter((a) => a.status === 202).length);
  });
});
