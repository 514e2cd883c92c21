import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '../support/env.js';
import { client } from '../support/system.js';
import { spawnApi, type ApiProcess } from '../support/api-process.js';
import { assertOracle, type Answer } from '../support/oracle.js';
import {
  cheapProofOfWork,
  purchaseWithSolution,
  solvedChallenge,
} from '../support/proof-of-work.js';
import { startBridge } from '../../src/cmd/wiring/bridge.js';
import { startWorker } from '../../src/cmd/wiring/worker.js';

// One solution, sent at once to two API processes of their own, several times to each: it is
// accepted exactly once (API.md: "each solution is accepted once, across every API process").
describe('a replayed solution racing across two API processes', () => {
  let env: TestEnv;
  let apis: ApiProcess[] = [];
  let pipeline: { stop: () => Promise<void> }[] = [];

  beforeAll(async () => {
    env = await createTestEnv('powrace', cheapProofOfWork);
    apis = await Promise.all([spawnApi(env), spawnApi(env)]);
    pipeline = [
      await startBridge(env.config, env.logger.child({ proc: 'bridge' })),
      await startWorker(env.config, env.logger.child({ proc: 'worker' })),
    ];
  });
  afterAll(async () => {
    for (const api of apis) await api.stop();
    for (const part of pipeline) await part.stop();
    await env?.cleanup();
  });

  it('has exactly one winner per solution, and the core oracle holds', async () => {
    const [a, b] = apis as [ApiProcess, ApiProcess];
    const created = await client(a.baseUrl, env).createSale({
      sku: 'pow-race',
      name: 'Race',
      stock: 40,
      perUserLimit: 5,
      proofOfWork: true,
    });
    const saleId = created.body.id as number;
    const buyers = Array.from({ length: 15 }, (_, i) => `racer-${i}`);
    const answers: Answer[] = [];
    for (const buyer of buyers) {
      const altcha = await solvedChallenge(a.baseUrl, env, buyer, saleId);
      const shots = [a, a, a, b, b, b].map((api) =>
        purchaseWithSolution(api.baseUrl, env, buyer, saleId, altcha),
      );
      const results = await Promise.all(shots);
      const statuses = results.map((r) => r.status).sort();
      expect(statuses, buyer).toEqual([202, 403, 403, 403, 403, 403]);
      for (const r of results) {
        if (r.status === 403) expect(r.body.error.code).toBe('CHALLENGE_FAILED');
        answers.push({ status: r.status, orderId: r.body?.orderId, buyer, quantity: 1 });
      }
    }
    await assertOracle(env, saleId, answers);
  });
});
