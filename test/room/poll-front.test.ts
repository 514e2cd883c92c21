import { expect, it } from 'vitest';
import { signBuyerToken } from '../../src/auth/jwt.js';
import { waitFor } from '../support/env.js';
import { metric } from '../support/failures.js';
import { expectAppsAnswer } from '../support/front-door.js';
import { createRoomSale, joinAll, useRoomSystem } from '../support/room-line.js';

// The steady poll is answered before the app (src/api/poll-front.ts) with the app's own
// answer; whatever is not all in memory, or is not this buyer's, still gets the app's.
// waiting room: the poll's front door
const system = useRoomSystem('room-poll-front');
const frontAnswers = 'flashline_room_polls_front_total';

// A JWT of `buyer`'s that no process has verified yet: its own issue time, in the past.
let issued = Math.floor(Date.now() / 1000) - 100;
const freshToken = (buyer: string) =>
  signBuyerToken(buyer, system.env.config.jwt.secret, 3600, issued++);

// One poll with exactly these credentials (and `query` after the path), and whether the front
// door answered it.
async function poll(saleId: number, token: string, ticket?: string, query = '') {
  const before = await metric(system.sut.api.port, frontAnswers);
  const answer = await system.api.raw('GET', `/sales/${saleId}/queue${query}`, {
    authorization: `Bearer ${token}`,
    'x-request-id': 'poll-front-test',
    ...(ticket === undefined ? {} : { 'x-queue-ticket': ticket }),
  });
  const front = (await metric(system.sut.api.port, frontAnswers)) - before;
  return { ...answer, front };
}

// Once the admitter has published the room's view and this process has read it: until then
// a poll is the app's, which waits for the view.
const viewRead = (saleId: number) =>
  waitFor(async () => system.sut.api.deps.rooms.views.current(saleId, Date.now()) !== undefined, {
    what: `room ${saleId}'s view read`,
  });

it("answers a steady poll before the app, with the app's body and headers", async () => {
  const { api, room } = system;
  const saleId = await createRoomSale(api, 'front', 1, { admitPerSecond: 1 }, { startsIn: 600 });
  const ticket = (await joinAll(room, saleId, ['amy'])).get('amy')!;
  await viewRead(saleId);
  const token = freshToken('amy');

  // The first poll with a JWT not verified before is the app's; the same poll again is not.
  const app = await poll(saleId, token, ticket);
  expect(app).toMatchObject({ status: 200, front: 0 });
  expect(app.body).toMatchObject({ saleId, state: 'prequeue', ticket });
  const front = await poll(saleId, token, ticket);
  expect(front.front).toBe(1);
  expectAppsAnswer(front, app, 'poll-front-test');

  // Counted in the HTTP metrics as the app counts its own.
  const route = { route: '/sales/:saleId/queue', method: 'GET', status: '200' };
  const counted = await metric(system.sut.api.port, 'flashline_http_requests_total', route);
  await poll(saleId, token, ticket);
  expect(await metric(system.sut.api.port, 'flashline_http_requests_total', route)).toBe(
    counted + 1,
  );
});

it('hands the app every poll that is not all known and all this buyer’s', async () => {
  const { api, room } = system;
  const saleId = await createRoomSale(api, 'front-2', 1, { admitPerSecond: 1 }, { startsIn: 600 });
  const other = await createRoomSale(api, 'front-3', 1, { admitPerSecond: 1 }, { startsIn: 600 });
  const tickets = await joinAll(room, saleId, ['bea', 'cat']);
  await joinAll(room, other, ['dan']);
  await Promise.all([viewRead(saleId), viewRead(other)]);
  const bea = tickets.get('bea')!;
  const token = freshToken('bea');
  // Every other part of these polls is known: bea's own poll goes through the front door.
  expect((await poll(saleId, token, bea)).front).toBe(0);
  expect((await poll(saleId, token, bea)).front).toBe(1);

  // A JWT that expired after it was verified.
  const now = Math.floor(Date.now() / 1000);
  const expiring = signBuyerToken('bea', system.env.config.jwt.secret, 2, now);
  expect((await poll(saleId, expiring, bea)).status).toBe(200);
  await new Promise((resolve) => setTimeout(resolve, (now + 2) * 1000 - Date.now() + 50));
  const expired = await poll(saleId, expiring, bea);
  expect(expired).toMatchObject({ status: 401, front: 0 });
  expect(expired.body.error.code).toBe('UNAUTHORIZED');

  // A JWT whose signature is wrong.
  const forged = `${token.slice(0, -2)}${token.endsWith('AA') ? 'BB' : 'AA'}`;
  expect(await poll(saleId, forged, bea)).toMatchObject({ status: 401, front: 0 });

  // Another buyer's ticket: ivy never joined.
  const ivy = freshToken('ivy');
  expect((await poll(other, ivy, tickets.get('dan'))).status).toBe(404);
  const stranger = await poll(saleId, ivy, bea);
  expect(stranger).toMatchObject({ status: 404, front: 0 });
  expect(stranger.body.error.code).toBe('NOT_IN_QUEUE');

  // Another sale's ticket: bea is not in that line.
  const elsewhere = await poll(other, token, bea);
  expect(elsewhere).toMatchObject({ status: 404, front: 0 });

  // A query string.
  const query = await poll(saleId, token, bea, '?x=1');
  expect(query).toMatchObject({ status: 400, front: 0 });
  expect(query.body.error.code).toBe('BAD_REQUEST');

  // No ticket: the app finds bea's place in Redis and signs her a new ticket.
  const without = await poll(saleId, token);
  expect(without).toMatchObject({ status: 200, front: 0 });
  expect(without.body.state).toBe('prequeue');
});
