import { expect, it } from 'vitest';
import { waitFor } from '../support/env.js';
import { createRoomSale, joinAll, useRoomSystem, type Place } from '../support/room-line.js';

// A poll answers the buyer's ticket back as it came while nothing in it changed (signing the
// same numbers again is an HMAC that gives the same token), and a new one once it changed.
// waiting room: the poll's ticket
const system = useRoomSystem('room-poll-ticket');

it('answers an unchanged ticket as given, without a MAC; a changed one signed again', async () => {
  const { sut, api, room } = system;
  const saleId = await createRoomSale(
    api,
    'room-ticket',
    1,
    { admitPerSecond: 1 },
    { startsIn: 2 },
  );
  const given = (await joinAll(room, saleId, ['hal'])).get('hal')!;
  const tokens = sut.api.deps.rooms.tokens;

  const before = tokens.macs;
  const prequeue = await room.poll(saleId, 'hal', given);
  expect(prequeue.body).toMatchObject({ state: 'prequeue', ticket: given });
  expect(tokens.macs - before).toBe(0);

  const admitted = await waitFor(
    async () => {
      const place = (await room.poll(saleId, 'hal', given)).body as Place;
      return place.state === 'admitted' && place;
    },
    { timeoutMs: 20_000, intervalMs: 100, what: 'hal admitted' },
  );
  expect(admitted.ticket).not.toBe(given);
  expect(admitted.ticket.split('.').slice(0, 3)).toEqual(given.split('.').slice(0, 3));
  const again = await room.poll(saleId, 'hal', admitted.ticket);
  expect(again.body).toMatchObject({ state: 'admitted', ticket: admitted.ticket });

  // Not another buyer's: ivy never joined, and hal's ticket does not make her a place.
  const stranger = await room.poll(saleId, 'ivy', admitted.ticket);
  expect(stranger.status).toBe(404);
  expect(stranger.body.error.code).toBe('NOT_IN_QUEUE');
});
