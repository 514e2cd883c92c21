import { expect, it } from 'vitest';
import { waitFor } from '../support/env.js';
import { assertOracle, type Answer } from '../support/oracle.js';
import { assertPaymentOracle } from '../support/payments.js';
import { buyersNamed } from '../support/buyers.js';
import {
  createRoomSale,
  joinAll,
  pollAll,
  useRoomSystem,
  type Place,
} from '../support/room-line.js';

// The outflow (API.md, "Outflow", "Nobody waits for nothing"): never more unused passes than
// remaining x WAITING_ROOM_OVERBOOK, every place told of a sell-out, and units that come back
// admitting the next in line.
// waiting room: the outflow
const system = useRoomSystem('room-outflow', { WAITING_ROOM_OVERBOOK: '2' });

// `count` buyers in line, and a reading of all their places.
async function line(saleId: number, count: number, prefix: string) {
  const tickets = await joinAll(system.room, saleId, buyersNamed(prefix, count));
  return { tickets, places: () => pollAll(system.room, saleId, tickets) };
}
const admittedOf = (places: Map<string, Place>) =>
  [...places].filter(([, place]) => place.state === 'admitted');
const settle = () => new Promise((resolve) => setTimeout(resolve, 1_000));

it('holds no more unused passes than remaining x overbook, and admits again as they are used', async () => {
  const { env, api, room } = system;
  const saleId = await createRoomSale(api, 'ob-1', 3, { admitPerSecond: 1000 });
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
  const { env, api, room } = system;
  const saleId = await createRoomSale(api, 'so-1', 1, { admitPerSecond: 1000 });
  const { places } = await line(saleId, 5, 'so');
  const [winner] = await waitFor(async () => admittedOf(await places())[0], {
    what: 'admission',
  }).then((w) => [w]);
  const bought = await room.buy(saleId, winner![0], winner![1].pass);
  expect(bought.status).toBe(202);
  await waitFor(
    async () =>
      [...(await places()).values()].every((p) => p.state === 'closed' && p.reason === 'SOLD_OUT'),
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
  const { env, api, room } = system;
  const saleId = await createRoomSale(
    api,
    'ret-1',
    1,
    { admitPerSecond: 1000 },
    { paymentWindowSeconds: 600 },
  );
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
