import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '../support/env.js';
import { client, startSystem, type Client, type System } from '../support/system.js';
import { spawnApi, type ApiProcess } from '../support/api-process.js';
import { assertOracle } from '../support/oracle.js';
import { keepBuying } from '../support/buyers.js';
import { adminOf } from '../support/admin.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// The kill switch and the sale's end, changed on one API process, answered by two (API.md,
// Operating a sale: on every API process within a second), with purchases in flight.
describe('pausing and ending a sale on two API processes', () => {
  let env: TestEnv;
  let sut: System;
  let other: ApiProcess;
  let apis: Client[];
  let admin: ReturnType<typeof adminOf>;

  beforeAll(async () => {
    env = await createTestEnv('kill-switch');
    sut = await startSystem(env);
    other = await spawnApi(env);
    apis = [client(sut.baseUrl, env), client(other.baseUrl, env)];
    admin = adminOf(apis[0]!, env, 'ops-on-call');
  });
  afterAll(async () => {
    await other?.stop();
    await sut?.stop();
    await env?.cleanup();
  });

  // Both processes buying, lane by lane, with buyers of their own.
  const buyOnBoth = (saleId: number, tag: string) =>
    apis.map((api, p) =>
      keepBuying(api, saleId, (i) => ({ buyer: `${tag}-${p}-${i}` }), { lanes: 3, gapMs: 20 }),
    );

  it('a pause stops purchases on both within a second; accepted orders confirm; a resume sells again', async () => {
    const created = await apis[0]!.createSale({ sku: 'pause', name: 'Pause', stock: 10_000 });
    const saleId = created.body.id as number;
    const buying = buyOnBoth(saleId, 'p');
    await sleep(500);
    const paused = await admin.pause(saleId);
    const pausedAt = Date.now();
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({ id: saleId, paused: true });
    await sleep(1_500);
    const answers = (await Promise.all(buying.map((b) => b.stop()))).flat();
    const before = answers.filter((a) => a.status === 202);
    expect(before.length).toBeGreaterThan(0);
    // Sent a second after the pause: every one refused, on both processes.
    const late = answers.filter((a) => a.sentAt > pausedAt + 1_000);
    expect(late.length).toBeGreaterThan(10);
    expect(
      late.every((a) => a.status === 403 && a.code === 'SALE_PAUSED'),
      buying[0]!.tally(),
    ).toBe(true);
    for (const api of apis) {
      expect((await api.sale(saleId)).body.paused).toBe(true);
      expect((await api.purchase(saleId, 'late-buyer')).body.error.code).toBe('SALE_PAUSED');
    }
    // Orders accepted before the pause go on.
    const result = await assertOracle(env, saleId, answers);
    expect(result.confirmedUnits).toBe(before.length);

    const resumed = await admin.resume(saleId);
    expect(resumed.body).toMatchObject({ paused: false });
    const again = await Promise.all(apis.map((api, p) => api.purchase(saleId, `after-${p}`)));
    expect(again.map((a) => a.status)).toEqual([202, 202]);
    await assertOracle(env, saleId, [
      ...answers,
      ...again.map((a, p) => ({
        status: a.status,
        orderId: a.body.orderId,
        buyer: `after-${p}`,
        quantity: 1,
      })),
    ]);
    const audit = (await admin.sale(saleId)).body;
    expect(audit.orders.confirmed).toBe(before.length + 2);
  });

  // Ended, then every process has read the sale as ended (their caches answer it without
  // Redis a second after the end); extended, both must sell again within a second.
  it('ends a sale early and extends it again, on both processes within a second', async () => {
    const endsAt = new Date(Date.now() + 3_600_000).toISOString();
    const created = await apis[0]!.createSale({ sku: 'end', name: 'End', stock: 100, endsAt });
    const saleId = created.body.id as number;
    const first = await apis[1]!.purchase(saleId, 'early');
    expect(first.status).toBe(202);
    const ended = await admin.change(saleId, {
      endsAt: new Date(Date.now() - 60_000).toISOString(),
    });
    expect(ended.status).toBe(200);
    expect(Date.parse(ended.body.endsAt as string)).toBeLessThanOrEqual(Date.now());
    for (const api of apis) {
      expect((await api.purchase(saleId, 'too-late')).body.error?.code).toBe('SALE_ENDED');
    }
    await sleep(1_200);
    for (const api of apis) {
      expect((await api.purchase(saleId, 'too-late')).body.error?.code).toBe('SALE_ENDED');
    }
    const extended = await admin.change(saleId, { endsAt });
    expect(extended.status).toBe(200);
    const extendedAt = Date.now();
    const sold = await Promise.all(
      apis.map(async (api, p) => {
        for (;;) {
          const answer = await api.purchase(saleId, `again-${p}`);
          if (answer.status === 202 || Date.now() - extendedAt > 2_000) return answer;
          await sleep(50);
        }
      }),
    );
    expect(sold.map((a) => a.status)).toEqual([202, 202]);
    expect(Date.now() - extendedAt).toBeLessThan(1_000);
    await assertOracle(env, saleId, [
      { status: 202, orderId: first.body.orderId, buyer: 'early', quantity: 1 },
      ...sold.map((a, p) => ({
        status: 202,
        orderId: a.body.orderId,
        buyer: `again-${p}`,
        quantity: 1,
      })),
    ]);
  });
});
