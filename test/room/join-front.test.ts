import { expect, it } from 'vitest';
import { waitFor } from '../support/env.js';
import { metric } from '../support/failures.js';
import { expectAppsAnswer } from '../support/front-door.js';
import { inSeconds } from '../support/room.js';
import { adminOf } from '../support/admin.js';
import { createRoomSale, useRoomSystem } from '../support/room-line.js';
import { roomKeys, saleKeys } from '../../src/gate/keys.js';

// The join is taken before the app (src/api/join-front.ts) when everything the route checks
// first is in memory, and answered with the app's own answer; anything else, and anything the
// route would refuse before its join, still gets the app's.
// waiting room: the join's front door
const system = useRoomSystem('room-join-front');
const frontJoins = 'flashline_room_joins_front_total';

// One join with these credentials (a body, and `query` after the path, when given), and
// whether the front door took it.
async function join(
  saleId: number,
  buyer: string,
  {
    ticket,
    body,
    query = '',
    token,
  }: Partial<Record<'ticket' | 'query' | 'token', string>> & {
    body?: unknown;
  } = {},
) {
  const before = await metric(system.sut.api.port, frontJoins);
  const headers: Record<string, string> = {
    ...system.api.buyerHeaders(buyer),
    'x-request-id': 'join-front-test',
    ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    ...(ticket === undefined ? {} : { 'x-queue-ticket': ticket }),
    ...(body === undefined ? {} : { 'content-type': 'application/json' }),
  };
  const answer = await system.api.raw('POST', `/sales/${saleId}/queue${query}`, headers, body);
  const front = (await metric(system.sut.api.port, frontJoins)) - before;
  return { ...answer, front };
}

// Once this process has read the room's view: the app's first join reads it, and a room the
// app refuses before joining is read here, so that the front door knows all but the refusal.
const viewRead = (saleId: number) => {
  const { views } = system.sut.api.deps.rooms;
  return waitFor(
    async () => {
      await views.snapshot(saleId, Date.now());
      return views.current(saleId, Date.now()) !== undefined;
    },
    { what: `room ${saleId}'s view read` },
  );
};

// The place a buyer's ticket names.
const placeOf = (buyer: string, saleId: number, ticket: string) =>
  system.sut.api.deps.rooms.tokens.readTicket(buyer, saleId, ticket)?.place;

it("takes a join before the app, with the app's body and headers", async () => {
  const saleId = await createRoomSale(system.api, 'join-front', 1, {}, { startsIn: 600 });
  // The first join of the sale is the app's: this process has not read the room's view yet.
  const first = await join(saleId, 'amy');
  expect(first).toMatchObject({ status: 200, front: 0 });
  await viewRead(saleId);
  const ticket = first.body.ticket as string;

  // The same join again, once with a body (the app's) and once without (the front door's).
  const app = await join(saleId, 'amy', { ticket, body: {} });
  expect(app).toMatchObject({ status: 200, front: 0 });
  expect(app.body).toMatchObject({ saleId, state: 'prequeue', ticket });
  expect(placeOf('amy', saleId, ticket)).toBe(1);
  const front = await join(saleId, 'amy', { ticket });
  expect(front.front).toBe(1);
  expectAppsAnswer(front, app, 'join-front-test');

  // A new buyer gets the next place, from the front door, counted as the app counts joins.
  const route = { route: '/sales/:saleId/queue', method: 'POST', status: '200' };
  const counted = await metric(system.sut.api.port, 'flashline_http_requests_total', route);
  const bob = await join(saleId, 'bob');
  expect(bob).toMatchObject({ status: 200, front: 1 });
  expect(bob.body.state).toBe('prequeue');
  expect(placeOf('bob', saleId, bob.body.ticket as string)).toBe(2);
  expect(await metric(system.sut.api.port, 'flashline_http_requests_total', route)).toBe(
    counted + 1,
  );
});

it('hands the app every join the route would refuse before joining, or not all known', async () => {
  const { api, env } = system;
  const saleId = await createRoomSale(api, 'join-front-2', 1, {}, { startsIn: 600 });
  expect((await join(saleId, 'cat')).front).toBe(0);
  await viewRead(saleId);
  expect(await join(saleId, 'cat')).toMatchObject({ status: 200, front: 1 });

  // Credentials the app refuses.
  const forged = await join(saleId, 'cat', { token: 'not.a.jwt' });
  expect(forged).toMatchObject({ status: 401, front: 0 });
  expect(forged.body.error.code).toBe('UNAUTHORIZED');
  // A query string.
  const query = await join(saleId, 'cat', { query: '?x=1' });
  expect(query).toMatchObject({ status: 400, front: 0 });
  expect(query.body.error.code).toBe('BAD_REQUEST');

  // A room that is not open yet: refused by the app, every time.
  const later = await createRoomSale(
    api,
    'join-front-3',
    1,
    { opensAt: inSeconds(300) },
    { startsIn: 600 },
  );
  // (The admitter publishes no view before the room opens: the front door never knows it.)
  for (let i = 0; i < 2; i++) {
    const early = await join(later, 'dan');
    expect(early).toMatchObject({ status: 403, front: 0 });
    expect(early.body.error.code).toBe('QUEUE_NOT_OPEN');
  }

  // A room behind a proof of work: the app asks for the challenge.
  const pow = await createRoomSale(
    api,
    'join-front-4',
    1,
    {},
    { startsIn: 600, proofOfWork: true },
  );
  await viewRead(pow);
  for (let i = 0; i < 2; i++) {
    const unpaid = await join(pow, 'eve');
    expect(unpaid).toMatchObject({ status: 403, front: 0 });
    expect(unpaid.body.error.code).toBe('CHALLENGE_REQUIRED');
  }

  // A paused sale, once this process's settings say so (read again each half second).
  expect((await adminOf(api, env).pause(saleId)).status).toBe(200);
  await waitFor(
    async () => {
      const paused = await join(saleId, 'fay');
      return paused.status === 403 && paused.front === 0;
    },
    { what: 'a join of the paused sale answered by the app' },
  );
  const paused = await join(saleId, 'fay');
  expect(paused).toMatchObject({ status: 403, front: 0 });
  expect(paused.body.error.code).toBe('SALE_PAUSED');
});

it('hands the app the joins of a sale that has ended, whose line is still open', async () => {
  const { api, env } = system;
  // Started (a sale ended before its start ends at its start).
  const saleId = await createRoomSale(api, 'join-front-5', 1, {});
  expect((await join(saleId, 'gus')).front).toBe(0);
  await viewRead(saleId);
  expect(await join(saleId, 'gus')).toMatchObject({ status: 200, front: 1 });

  // Ended early: the room's view still says open (its status follows the stock), so the
  // route's window check, which the front door shares, is what hands the join on, once this
  // process's settings say so (read again each half second).
  const past = new Date(Date.now() - 1000).toISOString();
  expect((await adminOf(api, env).change(saleId, { endsAt: past })).status).toBe(200);
  await waitFor(
    async () => {
      const late = await join(saleId, 'hal');
      return late.status === 403 && late.front === 0;
    },
    { what: 'a join of the ended sale answered by the app' },
  );
  expect(system.sut.api.deps.rooms.views.current(saleId, Date.now())?.doc?.status).toBe('open');
  const late = await join(saleId, 'hal');
  expect(late).toMatchObject({ status: 403, front: 0 });
  expect(late.body.error.code).toBe('SALE_ENDED');
});

// An admin's new end reaches the gate at once (change-sale-1.lua) and each process's room
// settings within half a second: a join in between passes the route's window check, and the
// join script refuses it on the gate's end, the app's answer and the front door's alike.
it("refuses a join on the gate's end before this process's settings hold it", async () => {
  const { api, env } = system;
  const saleId = await createRoomSale(api, 'join-front-6', 1, {});
  const gate = saleKeys(env.config.redis.prefix, saleId).sale;
  const redis = system.sut.api.deps.redis;
  expect(await redis.hset(gate, 'ends', String(Date.now() - 1000))).toBe(0);

  const byApp = await join(saleId, 'ida');
  expect(byApp).toMatchObject({ status: 403, front: 0 });
  expect(byApp.body.error.code).toBe('SALE_ENDED');
  await viewRead(saleId);
  const byFront = await join(saleId, 'jo');
  expect(byFront).toMatchObject({ status: 403, front: 1 });
  expect(byFront.body.error.code).toBe('SALE_ENDED');
  // Nobody took a place in a line that admits no one.
  const line = roomKeys(env.config.redis.prefix, saleId);
  expect(await redis.hlen(line.buyers)).toBe(0);
});
