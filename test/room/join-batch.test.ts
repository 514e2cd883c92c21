import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import { luaSource } from '../../src/gate/scripts/lua-source.js';
import { roomKeys } from '../../src/gate/keys.js';
import { expect, it } from 'vitest';
import { createRoomSale, joinAll, useRoomSystemOnOwnRedis } from '../support/room-line.js';

// A crowd's joins arriving at one API process at once go to Redis as one script call
// (src/room/join-batch.ts), and each buyer gets the place a join of their own would have
// given: new places in the order the joins came, a buyer's repeat their own place. Counted on
// a Redis of the file's own, through its SLOWLOG, so no other test's commands are seen.
// waiting room: a crowd's joins in one script call
const system = useRoomSystemOnOwnRedis('room-join-batch');

// A script's source and sha, as ioredis sends them (EVALSHA, or EVAL after NOSCRIPT).
const scriptOf = (file: string) => {
  const lua = luaSource(file);
  return [lua, createHash('sha1').update(lua).digest('hex')];
};
const joinScript = scriptOf('room-join-5.lua');
const seenScript = scriptOf('room-seen-4.lua');
const restoreScript = scriptOf('room-restore-4.lua');

// The calls of `script` that name one of `names` (buyers, or keys), while `run` runs and
// `settleMs` after it: read from the SLOWLOG, which this file's Redis keeps of every command
// (the first 32 arguments of each, enough to name the script, its keys and its first buyers).
async function scriptCallsNaming(
  script: string[],
  names: string[],
  run: () => Promise<unknown>,
  settleMs = 0,
) {
  const redis = new Redis(system.redis.url);
  try {
    await redis.config('SET', 'slowlog-log-slower-than', '0');
    await redis.config('SET', 'slowlog-max-len', '100000');
    await redis.slowlog('RESET');
    await run();
    await new Promise((resolve) => setTimeout(resolve, settleMs));
    const log = (await redis.slowlog('GET', -1)) as [number, number, number, string[]][];
    return log
      .map((entry) => entry[3])
      .filter((args) => script.includes(args[1] ?? ''))
      .filter((args) => args.some((arg) => names.includes(arg)));
  } finally {
    await redis.config('SET', 'slowlog-log-slower-than', '10000');
    redis.disconnect();
  }
}

it('joins buyers arriving at once in one script call, each where a join alone puts them', async () => {
  const { api, room, sut } = system;
  const saleId = await createRoomSale(api, 'join-batch', 5, {}, { startsIn: 600 });
  await joinAll(room, saleId, ['first']);
  const rooms = sut.api.deps.rooms;
  const settings = await rooms.lookup(saleId);
  if (typeof settings === 'string') throw new Error(`room ${saleId}: ${settings}`);

  const crowd = Array.from({ length: 20 }, (_, i) => `crowd-${i}`);
  // crowd-3 twice in the same moment, and first again: places they hold already.
  const arriving = [...crowd, 'crowd-3', 'first'];
  let replies: Awaited<ReturnType<typeof rooms.join>>[] = [];
  const calls = await scriptCallsNaming(joinScript, arriving, async () => {
    replies = await Promise.all(arriving.map((buyer) => rooms.join(settings, buyer)));
  });
  expect(calls.length, JSON.stringify(calls.map((c) => c.slice(2, 4)))).toBe(1);

  const places = replies.map((reply, i) => {
    if (!reply || typeof reply === 'string') throw new Error(`${arriving[i]}: ${String(reply)}`);
    return rooms.tokens.readTicket(arriving[i]!, saleId, reply.ticket)?.place;
  });
  expect(places).toEqual([...crowd.map((_, i) => i + 2), 5, 1]);

  // A lone join afterwards is a call of its own, at the back.
  const alone = await scriptCallsNaming(joinScript, ['last'], () => rooms.join(settings, 'last'));
  expect(alone.length).toBe(1);
  const last = await room.poll(saleId, 'last');
  expect(last.status).toBe(200);
  expect(rooms.tokens.readTicket('last', saleId, last.body.ticket as string)?.place).toBe(22);
});

it('leaves a join out of the next flush of places seen: its script marked it', async () => {
  const { api, room } = system;
  const saleId = await createRoomSale(api, 'join-seen', 5, {}, { startsIn: 600 });
  const joined = await scriptCallsNaming(
    seenScript,
    ['gus', 'hal'],
    () => joinAll(room, saleId, ['gus', 'hal']),
    // The flush runs every ROOM_VIEW_MS (100 here): five of them.
    500,
  );
  expect(joined).toEqual([]);
  // A poll is flushed (the place seen through a ticket, put back if Redis forgot it).
  const polled = await scriptCallsNaming(seenScript, ['gus'], () => room.poll(saleId, 'gus'), 500);
  expect(polled.length).toBe(1);
});

it('restores a line Redis forgot once for a batch of joins, not once per join', async () => {
  const { api, room, sut, redis } = system;
  const saleId = await createRoomSale(api, 'join-restore', 5, {}, { startsIn: 600 });
  await joinAll(room, saleId, ['ian']);
  const rooms = sut.api.deps.rooms;
  const settings = await rooms.lookup(saleId);
  if (typeof settings === 'string') throw new Error(`room ${saleId}: ${settings}`);
  expect(await redis.cli('FLUSHALL')).toBe('OK');

  const crowd = Array.from({ length: 20 }, (_, i) => `lost-${i}`);
  let replies: Awaited<ReturnType<typeof rooms.join>>[] = [];
  const state = roomKeys(system.env.config.redis.prefix, saleId).state;
  const restores = await scriptCallsNaming(restoreScript, [state], async () => {
    replies = await Promise.all(crowd.map((buyer) => rooms.join(settings, buyer)));
  });
  expect(replies.every((reply) => reply && reply !== 'paused')).toBe(true);
  // The joins' restore, and the admitter's when its tick (every 100 ms here) met the loss
  // first: a restore leaves a state that exists alone.
  expect(restores.length).toBeGreaterThanOrEqual(1);
  expect(restores.length).toBeLessThanOrEqual(2);
});
