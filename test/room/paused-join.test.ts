import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startRedisServer, stopRedisServers, type RedisServer } from '../support/redis-servers.js';
import { createRoomSale, useRoomSystem } from '../support/room-line.js';
import { roomClient, inSeconds } from '../support/room.js';
import { client } from '../support/system.js';
import { spawnApi, type ApiProcess } from '../support/api-process.js';
import { adminOf } from '../support/admin.js';

// The kill switch on a waiting room's join, two API processes (API.md, Operating a sale: a
// pause answered on every API process within a second). The join asks the gate nothing before
// its script: the script refuses on the gate's flag, and each process's room settings carry
// PostgreSQL's, so a pause holds while Redis has forgotten the sale and nothing loaded it back
// (the admitter, which would load it, ticks once a minute here).
// waiting room: a paused sale refuses joins
let redis: RedisServer;
let other: ApiProcess | undefined;
beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(() => stopRedisServers());
const system = useRoomSystem('room-paused-join', () => ({
  REDIS_URL: redis.url,
  ROOM_TICK_MS: '60000',
}));
afterAll(() => other?.stop());

type Answer = { process: number; sentAt: number; status: number; code: string | undefined };

it('refuses joins on both processes within a second of a pause, and after Redis forgot it', async () => {
  const { env, api } = system;
  other = await spawnApi(env);
  const rooms = [roomClient(api), roomClient(client(other.baseUrl, env))];
  const saleId = await createRoomSale(
    api,
    'paused-join',
    10,
    { opensAt: inSeconds(0) },
    { startsIn: 120 },
  );
  for (const [p, room] of rooms.entries())
    expect((await room.join(saleId, `before-${p}`)).status).toBe(200);

  expect((await adminOf(api, env).pause(saleId)).status).toBe(200);
  const pausedAt = Date.now();
  for (const [p, room] of rooms.entries()) {
    const refused = await room.join(saleId, `at-once-${p}`);
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('SALE_PAUSED');
  }

  // Redis forgets the gate's flag and the line; PostgreSQL still holds the pause.
  expect(await redis.cli('FLUSHALL')).toBe('OK');
  const answers: Answer[] = [];
  await Promise.all(
    rooms.map(async (room, p) => {
      for (let i = 0; Date.now() < pausedAt + 2_000; i++) {
        const sentAt = Date.now();
        const answer = await room.join(saleId, `after-${p}-${i}`);
        answers.push({ process: p, sentAt, status: answer.status, code: answer.body?.error?.code });
        await sleep(50);
      }
    }),
  );
  // Sent a second after the pause: every one refused, on both processes.
  for (const p of [0, 1]) {
    const late = answers.filter((a) => a.process === p && a.sentAt > pausedAt + 1_000);
    expect(late.length).toBeGreaterThan(5);
    expect(late.filter((a) => a.status !== 403 || a.code !== 'SALE_PAUSED')).toEqual([]);
  }
});
