import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, waitFor, type TestEnv } from '../support/env.js';
import { client, startSystem, type System } from '../support/system.js';
import { assertOracle, type Answer } from '../support/oracle.js';
import { assertPaymentOracle } from '../support/payments.js';
import { fastRoom, roomClient } from '../support/room.js';

type Place = Record<string, unknown> & { state: string; pass?: string; reason?: string };

// The outflow (API.md, "Outflow", "Nobody waits for nothing"): never more unused passes than
// remaining x WAITING_ROOM_OVERBOOK, every place told of a sell-out, and units that come back
// admitting the next in line.
describe('waiting room: the outflow', () => {
  let env: TestEnv;
  let sut: System;
  let api: ReturnType<typeof client>;
  let room: ReturnType<typeof roomClient>;

  beforeAll(async () => {
    env = await createTestEnv('room-outflow', { ...fastRoom, WAITING_ROOM_OVERBOOK: '2' });
    sut = await startSystem(env);
    api = client(sut.baseUrl, env);
    room = roomClient(api);
  });
  afterAll(async () => {
    await sut?.stop();
    await env?.cleanup();
  });

  async function line(saleId: number, count: number, prefix: string) {
    const tickets = new Map<string, string>();
    for (let i = 0; i < count; i++) {
      const joined = await room.join(saleId, `${prefix}-${i}`);
      expect(joined.status).toBe(200);
      tickets.set(`${prefix}-${i}`, joined.body.ticket as string);
    }
    const places = async () => {
      const all = new Map<string, Place>();
      for (const [buyer, ticket] of tickets) {
        all.set(buyer, (await room.poll(saleId, buyer, ticket)).body as Place);
      }
      return all;
    };
    return { tickets, places };
  }
  const admittedOf = (places: Map<string, Place>) =>
    [...places].filter(([, place]) => place.state === 'admitted');
  const settle = () => new Promise((resolve) => setTimeout(resolve, 1_000));

  it('holds no more unused passes than remaining x overbook, and admits again as they are used', async () => {
    const saleId = (
      await api.createSale({
        sku: 'ob-1',
        name: 'O',
        stock: 3,
        waitingRoom: { admitPerSecond: 1000 },
      })
    ).body.id as number;
    const { places } = await line(saleId, 12, 'ob');
    await waitFor(async () => admittedOf(await places()).length === 6, { what: '6 admitted' });
    await settle();
    // 3 units x 2: six passes and no seventh while none is used.
    expect(admittedOf(await places())).toHaveLength(6);
    const answers: Answer[] = [];
    const [first, second] = admittedOf(await places());
    for (const [buyer, place] of [first!, second!]) {
      const bought = await room.buy(saleId, buyer, place.pass);
      expect(bought.status).toBe(202);
      answers.push({ status: 202, orderId: bought.body.orderId, buyer, quantity: 1 });
    }
    // 1 unit left, 4 passes unused: 4 > 1 x 2, so nobody more is admitted.
    await settle();
    expect(admittedOf(await places())).toHaveLength(6);
    await assertOracle(env, saleId, answers);
  });

  it('tells every place of a sell-out at once: closed with SOLD_OUT, joins refused', async () => {
    const saleId = (
      await api.createSale({
        sku: 'so-1',
        name: 'S',
        stock: 1,
        waitingRoom: { admitPerSecond: 1000 },
      })
    ).body.id as number;
    const { places } = await line(saleId, 5, 'so');
    const [winner] = await waitFor(async () => admittedOf(await places())[0], {
      what: 'admission',
    }).then((w) => [w]);
    const bought = await room.buy(saleId, winner![0], winner![1].pass);
    expect(bought.status).toBe(202);
    await waitFor(
      async () =>
        [...(await places()).values()].every(
          (p) => p.state === 'closed' && p.reason === 'SOLD_OUT',
        ),
      { what: 'every place closed SOLD_OUT' },
    );
    const late = await room.join(saleId, 'so-late');
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe('SOLD_OUT');
    await assertOracle(env, saleId, [
      { status: 202, orderId: bought.body.orderId, buyer: winner![0], quantity: 1 },
    ]);
  });

  it('keeps the line waiting while units are held, and admits the next when they come back', async () => {
    const saleId = (
      await api.createSale({
        sku: 'ret-1',
        name: 'R',
        stock: 1,
        paymentWindowSeconds: 600,
        waitingRoom: { admitPerSecond: 1000 },
      })
    ).body.id as number;
    const { places } = await line(saleId, 4, 'ret');
    const first = await waitFor(
      async () => admittedOf(await places()).length === 2 && admittedOf(await places()),
    );
    const [buyer, place] = first[0]!;
    const bought = await room.buy(saleId, buyer, place.pass);
    expect(bought.status).toBe(202);
    const orderId = bought.body.orderId as string;
    await waitFor(async () => (await api.order(orderId, buyer)).body.status === 'confirmed');
    // Held in its payment window: the line is told, and waits.
    await waitFor(
      async () => {
        const waiting = [...(await places()).values()].filter((p) => p.state === 'waiting');
        return waiting.length === 2 && waiting.every((p) => p.reason === 'SOLD_OUT');
      },
      { what: 'waiting places told SOLD_OUT' },
    );
    const admittedBefore = new Set(admittedOf(await places()).map(([b]) => b));
    const cancelled = await api.raw('POST', `/orders/${orderId}/cancel`, api.buyerHeaders(buyer));
    expect(cancelled.status).toBe(200);
    // The unit is back: the next in line is admitted.
    const next = await waitFor(
      async () => admittedOf(await places()).find(([b]) => !admittedBefore.has(b)),
      { what: 'the next buyer admitted' },
    );
    const rebought = await room.buy(saleId, next[0], next[1].pass);
    expect(rebought.status).toBe(202);
    await assertPaymentOracle(env, saleId, [
      { status: 202, orderId, buyer, quantity: 1 },
      { status: 202, orderId: rebought.body.orderId, buyer: next[0], quantity: 1 },
    ]);
  });
});
