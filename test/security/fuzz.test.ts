import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestEnv } from '../support/env.js';
import { client, type System, openSystem, closeSystem } from '../support/system.js';
import { expectNoInternals, stockState, type StockState } from '../support/contract.js';
import { forgeTokens, type FuzzTarget } from './fuzz/parts.js';
import { hostileRequest } from './fuzz/requests.js';

// How many random requests the property sends (skipped ones, that would buy, not counted).
const numRuns = 1_500;

describe('fuzzing the API with hostile requests', () => {
  let env: TestEnv;
  let sut: System;
  let target: FuzzTarget;
  let before: StockState;
  const statuses = new Map<number, number>();

  beforeAll(async () => {
    ({ env, sut } = await openSystem('fuzz'));
    const api = client(sut.baseUrl, env);
    const perUserLimit = 3;
    const hour = 3600_000;
    const create = async (sku: string, extra: Record<string, unknown>) =>
      (await api.createSale({ sku, name: sku, stock: 30, perUserLimit, ...extra })).body
        .id as number;
    target = {
      sales: {
        open: await create('fuzz-open', {}),
        future: await create('fuzz-future', { startsAt: new Date(Date.now() + 24 * hour) }),
        ended: await create('fuzz-ended', {
          startsAt: new Date(Date.now() - 2 * hour),
          endsAt: new Date(Date.now() - hour),
        }),
        pow: await create('fuzz-pow', { proofOfWork: true }),
      },
      perUserLimit,
      jwtSecret: env.config.jwt.secret,
      adminToken: env.config.auth.adminToken,
      forgedTokens: await forgeTokens(env.config.jwt.secret, env.config.auth.adminToken),
    };
    before = await stockState(env, Object.values(target.sales));
  });
  afterAll(async () => {
    await closeSystem(sut, env);
  });

  it(`answers ${numRuns} random requests with 4xx (or 200 reads), never 5xx, and changes nothing`, async () => {
    await fc.assert(
      fc.asyncProperty(hostileRequest(target), async (request) => {
        fc.pre(!request.wouldBuy);
        const response = await fetch(`${sut.baseUrl}${request.path}`, {
          method: request.method,
          headers: request.headers,
          body: request.body,
          redirect: 'manual',
        });
        const text = await response.text();
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        const what = `${request.method} ${request.path} -> ${response.status} ${text.slice(0, 200)}`;
        expect(response.status, what).toBeLessThan(500);
        if (request.expected) expect(request.expected, what).toContain(response.status);
        expect(response.headers.get('x-request-id'), what).toBeTruthy();
        if (response.status >= 400) {
          const body = JSON.parse(text) as { error: { code: string; message: string } };
          expect(Object.keys(body), what).toEqual(['error']);
          expect(body.error, what).toEqual({
            code: expect.stringMatching(/^[A-Z_]+$/),
            message: expect.any(String),
          });
          expectNoInternals(text);
        }
      }),
      { numRuns, endOnFailure: false },
    );
    console.log('fuzz statuses', Object.fromEntries([...statuses].sort()));
    expect([...statuses.values()].reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(numRuns);
    // Each family of refusal was reached, so the generators are not stuck on one.
    for (const status of [400, 401, 403, 404, 413])
      expect(statuses.get(status)).toBeGreaterThan(20);
  });

  it('left stock, reservations, orders and sales exactly as they were', async () => {
    expect(await stockState(env, Object.values(target.sales))).toEqual(before);
    const probe = {} as Record<string, unknown>;
    expect([probe.polluted, probe.x, probe.quantity]).toEqual([undefined, undefined, undefined]);
  });
});
