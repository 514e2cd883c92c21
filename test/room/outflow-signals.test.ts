import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '../support/env.js';
import { createRedis, type RedisClient } from '../../src/redis/connection.js';
import { roomSignalsKey } from '../../src/gate/keys.js';
import { AdaptiveOutflow } from '../../src/room/outflow.js';

// The outflow of a room without admitPerSecond follows the API processes' adaptive admission
// (src/api/room-signals.ts publishes each process's limit, in flight and shed count to Redis).
// waiting room: the adaptive outflow
let env: TestEnv;
let redis: RedisClient;

beforeAll(async () => {
  env = await createTestEnv('room-signals');
  redis = createRedis(env.config);
});
afterAll(async () => {
  await redis?.quit();
  await env?.cleanup();
});

it('is the ceiling without signals, grows while no process sheds, and is cut when one does', async () => {
  const ceiling = 1000;
  const sut = new AdaptiveOutflow(redis, env.config.redis.prefix, ceiling);
  const key = roomSignalsKey(env.config.redis.prefix);
  let now = Date.now();
  expect(await sut.next(1, now)).toEqual({ rate: ceiling, reason: 'default' });

  const publish = async (
    process: string,
    signal: { limit: number; inFlight: number; shed: number },
  ) => redis.hset(key, process, JSON.stringify({ ...signal, at: now }));
  await publish('a', { limit: 100, inFlight: 10, shed: 0 });
  await publish('b', { limit: 100, inFlight: 10, shed: 0 });
  const first = await sut.next(1, now);
  expect(first.reason).toBe('adaptive');
  let grown = first.rate;
  for (let i = 0; i < 5; i++) grown = (await sut.next(1, now)).rate;
  expect(grown).toBeGreaterThan(first.rate);

  // One process sheds: the rate is cut.
  await publish('b', { limit: 100, inFlight: 100, shed: 7 });
  const cut = (await sut.next(1, now)).rate;
  expect(cut).toBeLessThan(grown);
  // Its signal goes stale (the process stopped): left out, and the rate is the ceiling again.
  now += 10_000;
  expect(await sut.next(1, now)).toEqual({ rate: ceiling, reason: 'default' });
  expect(await redis.hlen(key)).toBe(0);
});

it('holds while purchases pass half the limit, doubles each second until the first shed, then grows a fifth', async () => {
  const ceiling = 1000;
  const sut = new AdaptiveOutflow(redis, env.config.redis.prefix, ceiling);
  const key = roomSignalsKey(env.config.redis.prefix);
  const now = Date.now();
  const publish = (signal: { limit: number; inFlight: number; shed: number }) =>
    redis.hset(key, 'a', JSON.stringify({ ...signal, at: now }));
  // Busy (60 of 100 in flight) but nothing shed: the rate holds at its start, a quarter.
  await publish({ limit: 100, inFlight: 60, shed: 0 });
  expect((await sut.next(1, now)).rate).toBe(ceiling / 4);
  // Headroom: slow start doubles it each second (the + 1 keeps a rate of 1 moving), so the
  // ceiling is reached in two.
  await publish({ limit: 100, inFlight: 10, shed: 0 });
  // A step that did not use all the rate allowed (before the start, a short line): no growth.
  expect((await sut.next(1, now, false)).rate).toBe(ceiling / 4);
  expect((await sut.next(1, now)).rate).toBe(ceiling / 2 + 1);
  expect((await sut.next(1, now)).rate).toBe(ceiling);
  // A shed: cut, and slow start is over: a fifth a second from there.
  await publish({ limit: 100, inFlight: 100, shed: 3 });
  const cut = (await sut.next(1, now)).rate;
  expect(cut).toBeLessThan(ceiling);
  await publish({ limit: 100, inFlight: 10, shed: 3 });
  expect((await sut.next(1, now)).rate).toBeCloseTo(cut * 1.2 + 1, 6);
});

it('cuts once a second while processes shed, and holds between: a cut shows only after the next polls', async () => {
  const ceiling = 1000;
  const sut = new AdaptiveOutflow(redis, env.config.redis.prefix, ceiling);
  const key = roomSignalsKey(env.config.redis.prefix);
  const start = Date.now();
  const publish = (shed: number, at: number) =>
    redis.hset(key, 'a', JSON.stringify({ limit: 100, inFlight: 100, shed, at }));
  await publish(0, start);
  expect((await sut.next(0.25, start)).rate).toBe(ceiling / 4);
  await publish(3, start + 250);
  const cut = (await sut.next(0.25, start + 250)).rate;
  expect(cut).toBeCloseTo((ceiling / 4) * 0.7, 6);
  // Sheds on every step of the next second: the same congestion, held at the cut.
  for (const after of [500, 750, 1000]) {
    await publish(3 + after, start + after);
    expect((await sut.next(0.25, start + after)).rate).toBe(cut);
  }
  // A second after the cut, still shedding: cut again.
  await publish(2000, start + 1250);
  expect((await sut.next(0.25, start + 1250)).rate).toBeCloseTo(cut * 0.7, 6);
});
