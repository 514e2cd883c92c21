import { expect, it } from 'vitest';
import { waitFor } from '../support/env.js';
import { assertOracle, type Answer } from '../support/oracle.js';
import { inSeconds } from '../support/room.js';
import { createRoomSale, joinAll, useRoomSystem } from '../support/room-line.js';
import { RoomTokens } from '../../src/room/tokens.js';

// The line from the buyer's side: join before the start (prequeue), the same place on a second
// join, positions once the line is drawn, admission with a pass, and a purchase that needs it.
// waiting room: the line and the pass
const system = useRoomSystem('room-line');

it('answers the contract before, at and after the start, and sells only with a pass', async () => {
  const { env, api, room } = system;
  const created = await api.createSale({
    sku: 'room-1',
    name: 'Room',
    stock: 2,
    startsAt: inSeconds(3),
    waitingRoom: { admitPerSecond: 1 },
  });
  expect(created.status).toBe(201);
  const saleId = created.body.id as number;
  expect(created.body.waitingRoom).toMatchObject({
    passSeconds: 300,
    idleSeconds: 60,
    admitPerSecond: 1,
    waiting: 0,
    admitted: 0,
  });

  const buyers = ['ann', 'bob', 'cat'];
  const tickets = new Map<string, string>();
  for (const buyer of buyers) {
    const joined = await room.join(saleId, buyer);
    expect(joined.status).toBe(200);
    expect(joined.body).toMatchObject({ saleId, state: 'prequeue', position: null });
    tickets.set(buyer, joined.body.ticket as string);
  }
  const again = await room.join(saleId, 'ann');
  // The ticket's second field is the place number.
  expect(again.body.ticket.split('.')[1]).toBe(tickets.get('ann')!.split('.')[1]);
  // No pass: refused, whatever the sale's state.
  const without = await room.buy(saleId, 'ann');
  expect(without.status).toBe(403);
  expect(without.body.error.code).toBe('NOT_ADMITTED');

  // At most one admission a second: the first admitted, the others waiting with positions.
  const first = await waitFor(
    async () => {
      for (const buyer of buyers) {
        const place = await room.poll(saleId, buyer, tickets.get(buyer));
        if (place.body.state === 'admitted') return { buyer, place: place.body };
      }
      return null;
    },
    { what: 'a first admission' },
  );
  expect(first.place.pass).toEqual(expect.any(String));
  expect(Date.parse(first.place.passExpiresAt as string)).toBeGreaterThan(Date.now());
  const positions = [];
  for (const buyer of buyers.filter((b) => b !== first.buyer)) {
    const place = await room.poll(saleId, buyer, tickets.get(buyer));
    if (place.body.state === 'waiting') positions.push(place.body.position as number);
  }
  expect(positions.every((p) => p >= 1 && p <= 2)).toBe(true);

  const answers: Answer[] = [];
  const other = buyers.find((b) => b !== first.buyer)!;
  // Another buyer's pass is refused.
  const stolen = await room.buy(saleId, other, first.place.pass as string);
  expect(stolen.body.error?.code).toBe('NOT_ADMITTED');
  const bought = await room.buy(saleId, first.buyer, first.place.pass as string);
  expect(bought.status).toBe(202);
  answers.push({ status: 202, orderId: bought.body.orderId, buyer: first.buyer, quantity: 1 });
  await assertOracle(env, saleId, answers);
});

it("refuses forged, expired, other buyers' and other sales' passes", async () => {
  const { env, api, room } = system;
  const make = (sku: string) =>
    api.createSale({ sku, name: 'Room', stock: 5, waitingRoom: { admitPerSecond: 100 } });
  const saleId = (await make('room-pass-1')).body.id as number;
  const otherSale = (await make('room-pass-2')).body.id as number;
  const tokens = new RoomTokens(env.config.room.queuePassSecret, 2 ** 20);
  const forger = new RoomTokens('not-the-secret-0123456789', 2 ** 20);
  const future = Date.now() + 60_000;
  const cases: [string, string][] = [
    ['forged', forger.pass('dan', { saleId, rank: 1, expiresAtMs: future })],
    ['expired', tokens.pass('dan', { saleId, rank: 1, expiresAtMs: Date.now() - 1 })],
    ['other buyer', tokens.pass('eve', { saleId, rank: 1, expiresAtMs: future })],
    ['other sale', tokens.pass('dan', { saleId: otherSale, rank: 1, expiresAtMs: future })],
    ['a ticket', tokens.ticket('dan', { saleId, place: 1, joinedAtMs: 1, admitted: true })],
    ['garbage', 'x.y.z'],
  ];
  for (const [what, pass] of cases) {
    const answer = await room.buy(saleId, 'dan', pass);
    expect(answer.status, what).toBe(403);
    expect(answer.body.error.code, what).toBe('NOT_ADMITTED');
  }
  // The same pass, rightly made, buys: the refusals above are the pass's, not the sale's.
  const good = await room.buy(
    saleId,
    'dan',
    tokens.pass('dan', { saleId, rank: 1, expiresAtMs: future }),
  );
  expect(good.status).toBe(202);
  await assertOracle(env, saleId, [
    { status: 202, orderId: good.body.orderId, buyer: 'dan', quantity: 1 },
  ]);
});

it('leaves: 204, then 404 NOT_IN_QUEUE; a sale without a room answers 409', async () => {
  const { env, api, room } = system;
  const saleId = await createRoomSale(api, 'room-leave', 5, {}, { startsIn: 60 });
  const joined = await room.join(saleId, 'fay');
  expect((await room.leave(saleId, 'fay', joined.body.ticket)).status).toBe(204);
  const gone = await room.poll(saleId, 'fay', joined.body.ticket);
  expect(gone.status).toBe(404);
  expect(gone.body.error.code).toBe('NOT_IN_QUEUE');
  const back = await room.join(saleId, 'fay');
  expect(back.status).toBe(200);
  expect(back.body.ticket).not.toBe(joined.body.ticket);
  const plain = (await api.createSale({ sku: 'no-room', name: 'R', stock: 1 })).body.id as number;
  expect((await room.join(plain, 'fay')).body.error.code).toBe('NO_WAITING_ROOM');
  const later = await createRoomSale(
    api,
    'room-later',
    1,
    { opensAt: inSeconds(600) },
    { startsIn: 3600 },
  );
  // The kill switch refuses joins as it does purchases.
  const admin = { authorization: `Bearer ${env.config.auth.adminToken}` };
  expect((await api.raw('POST', `/admin/sales/${saleId}/pause`, admin)).status).toBe(200);
  const paused = await room.join(saleId, 'gil');
  expect(paused.status).toBe(403);
  expect(paused.body.error.code).toBe('SALE_PAUSED');
  expect((await api.raw('POST', `/admin/sales/${saleId}/resume`, admin)).status).toBe(200);
  expect((await room.join(saleId, 'gil')).status).toBe(200);
  const early = await room.join(later, 'fay');
  expect(early.status).toBe(403);
  expect(early.body.error.code).toBe('QUEUE_NOT_OPEN');
});

it('closes every place when an admin ends the sale, within a second or two', async () => {
  const { env, api, room } = system;
  const saleId = await createRoomSale(api, 'room-end', 5, { admitPerSecond: 1 });
  const tickets = await joinAll(room, saleId, ['hal', 'ida', 'jon']);
  const admin = {
    authorization: `Bearer ${env.config.auth.adminToken}`,
    'content-type': 'application/json',
  };
  const ended = await api.raw('PATCH', `/admin/sales/${saleId}`, admin, {
    endsAt: new Date(Date.now() - 1000).toISOString(),
  });
  expect(ended.status).toBe(200);
  await waitFor(
    async () => {
      for (const [buyer, ticket] of tickets) {
        const place = await room.poll(saleId, buyer, ticket);
        if (place.body.state !== 'closed' || place.body.reason !== 'SALE_ENDED') return false;
      }
      return true;
    },
    { what: 'every place closed SALE_ENDED', timeoutMs: 3_000 },
  );
  expect((await room.join(saleId, 'kim')).body.error.code).toBe('SALE_ENDED');
});
