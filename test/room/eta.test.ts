import { expect, it } from 'vitest';
import { waitFor } from '../support/env.js';
import { assertOracle, type Answer } from '../support/oracle.js';
import { buyThroughLine, createRoomSale, joinAll, useRoomSystem } from '../support/room-line.js';
import { adminOf } from '../support/admin.js';

// The ETA a place is told (API.md, "Waiting room": `etaSeconds` from the measured outflow)
// when nobody is being admitted: after the line has been empty a while, a buyer first in line
// waits a tick or two and must not be told days; while the sale is paused, no wait can be
// measured and none is told.
const system = useRoomSystem('room-eta');

type PlaceBody = { state: string; position: number | null; etaSeconds: number | null };

// One buyer joins, is admitted and buys: the order's answer, for the oracle.
async function buyThrough(saleId: number, buyer: string): Promise<Answer> {
  const orderId = await buyThroughLine(system.room, saleId, buyer);
  return { status: 202, orderId, buyer, quantity: 1 };
}

it.each([
  ['a fixed outflow', { admitPerSecond: 1000 }],
  ['the adaptive outflow', {}],
])(
  'tells the first in a line that was empty a while a wait of seconds (%s)',
  async (_, waitingRoom) => {
    const { env, api, room } = system;
    const saleId = await createRoomSale(
      api,
      `eta-${Object.keys(waitingRoom).length}`,
      5,
      waitingRoom,
    );
    const answers = [await buyThrough(saleId, 'eta-first')];
    // Some 40 of the admitter's steps with nobody in line (ROOM_TICK_MS is 100 ms here).
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    const joined = await room.join(saleId, 'eta-next');
    expect(joined.status).toBe(200);
    const place = joined.body as PlaceBody;
    expect(place).toMatchObject({ state: 'waiting', position: 1 });
    expect(place.etaSeconds).not.toBeNull();
    expect(place.etaSeconds).toBeLessThanOrEqual(2);
    answers.push(await buyThrough(saleId, 'eta-next'));
    await assertOracle(env, saleId, answers);
  },
);

it('tells no ETA while the sale is paused: nobody is admitted, so no wait can be measured', async () => {
  const { env, api, room } = system;
  // 1 unit x WAITING_ROOM_OVERBOOK 2: two passes, and the third buyer waits.
  const saleId = await createRoomSale(api, 'eta-paused', 1, { admitPerSecond: 1000 });
  const tickets = await joinAll(room, saleId, ['eta-p1', 'eta-p2', 'eta-p3']);
  const third = async () =>
    (await room.poll(saleId, 'eta-p3', tickets.get('eta-p3'))).body as PlaceBody;
  // Its place is `prequeue` until this process's view holds it.
  await waitFor(async () => (await third()).state === 'waiting', { what: 'the third waiting' });
  expect((await adminOf(api, env).pause(saleId)).status).toBe(200);
  await waitFor(
    async () => {
      const place = await third();
      return place.state === 'waiting' && place.etaSeconds === null;
    },
    { what: 'a waiting place without an ETA while paused', timeoutMs: 3_000 },
  );
  await assertOracle(env, saleId, []);
});
