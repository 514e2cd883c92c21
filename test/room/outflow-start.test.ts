import { setTimeout as sleep } from 'node:timers/promises';
import { expect, it } from 'vitest';
import { waitFor } from '../support/env.js';
import { metric } from '../support/failures.js';
import { assertOracle } from '../support/oracle.js';
import { buyersNamed } from '../support/buyers.js';
import { createRoomSale, joinAll, useRoomSystem } from '../support/room-line.js';

// The adaptive outflow at a sale's start (docs/waiting-room.md, "The outflow"): a buyer
// admitted buys only after their next poll, up to ROOM_POLL_AFTER_MS later, so until then no
// purchase has tried the rate and it does not grow; after, it grows while the path has room.
// waiting room: the outflow at the start
const pollAfterMs = 3_000;
const ceiling = 40;
// The outflow follows the API's adaptive admission (off in the other tests); nobody buys here,
// so nothing is shed.
const system = useRoomSystem('room-outflow-start', {
  ADMISSION: 'adaptive',
  ROOM_ADMIT_PER_SECOND: String(ceiling),
  ROOM_POLL_AFTER_MS: String(pollAfterMs),
});

it('holds the outflow at its start for a poll interval, then grows it', async () => {
  const { env, api, room } = system;
  // Time for the joins on a slow machine, so that the whole interval is sampled.
  const startsIn = 5;
  const startsAtMs = Date.now() + startsIn * 1000;
  const saleId = await createRoomSale(api, 'start-hold', 200, {}, { startsIn });
  // Longer than the outflow empties in the test: every step admits all the rate allows.
  await joinAll(room, saleId, buyersNamed('sh', 150));
  const limit = () =>
    metric(system.sut.api.port, 'flashline_room_outflow_limit', { sale: String(saleId) });
  const limits: number[] = [];
  await sleep(Math.max(0, startsAtMs - Date.now()));
  while (Date.now() < startsAtMs + pollAfterMs - 300) {
    limits.push(await limit());
    await sleep(100);
  }
  // A quarter of the ceiling, as the outflow starts (src/room/outflow.ts), through the interval.
  expect(limits.length).toBeGreaterThan(10);
  expect(Math.max(...limits)).toBe(ceiling / 4);
  await waitFor(async () => (await limit()) > ceiling / 4, {
    timeoutMs: 3_000,
    what: 'the outflow grown after the first poll interval',
  });
  // Nobody bought: the oracle's units at rest.
  await assertOracle(env, saleId, []);
});
