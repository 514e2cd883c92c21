import { expect, it } from 'vitest';
import { waitFor } from '../support/env.js';
import { assertOracle } from '../support/oracle.js';
import { createRoomSale, useRoomSystem } from '../support/room-line.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Idle places go (API.md): a place not asked for in idleSeconds is dropped (within 1.5 x
// idleSeconds: docs/waiting-room.md), a place asked for is kept, and the dropped buyer may
// join again, at the back.
// waiting room: idle places
const system = useRoomSystem('room-idle');

it('drops the place nobody asks for, keeps the one asked for, and lets its buyer join again', async () => {
  const { env, api, room } = system;
  const saleId = await createRoomSale(api, 'idle-1', 5, { idleSeconds: 10 }, { startsIn: 120 });
  const idle = await room.join(saleId, 'idle');
  const keen = await room.join(saleId, 'keen');
  const waiting = async () => (await api.sale(saleId)).body.waitingRoom.waiting as number;
  const joinedAt = Date.now();
  let polling = true;
  const keep = (async () => {
    while (polling) {
      expect((await room.poll(saleId, 'keen', keen.body.ticket)).status).toBe(200);
      await sleep(1_000);
    }
  })();
  try {
    await waitFor(async () => (await waiting()) === 2, { what: 'two in line' });
    // Not before idleSeconds.
    await sleep(9_000 - (Date.now() - joinedAt));
    expect(await waiting()).toBe(2);
    await waitFor(async () => (await waiting()) === 1, {
      what: 'the idle place dropped',
      timeoutMs: 30_000,
    });
  } finally {
    polling = false;
    await keep;
  }
  const gone = await room.poll(saleId, 'idle', idle.body.ticket);
  expect(gone.status).toBe(404);
  expect(gone.body.error.code).toBe('NOT_IN_QUEUE');
  expect((await room.poll(saleId, 'keen', keen.body.ticket)).status).toBe(200);
  const again = await room.join(saleId, 'idle');
  expect(again.status).toBe(200);
  expect(again.body.ticket.split('.')[1]).not.toBe(idle.body.ticket.split('.')[1]);
  await assertOracle(env, saleId, []);
});
