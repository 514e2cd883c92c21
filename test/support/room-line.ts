import { afterAll, beforeAll, expect } from 'vitest';
import { startRedisServer, stopRedisServers, type RedisServer } from './redis-servers.js';
import { waitFor } from './env.js';
import type { Client } from './system.js';
import { useSystem, type OpenSystem, type Overrides } from './use-system.js';
import { fastRoom, inSeconds, roomClient } from './room.js';
import { createSaleOk } from './sales.js';

// What the tests of a waiting room do over and over: a system with a fast room, a sale with a
// room, a line of buyers joined one after another, every place polled, and a buyer taken
// through the line to a purchase.

export type RoomClient = ReturnType<typeof roomClient>;
// A place as GET /sales/:saleId/queue answers it (API.md, "Waiting room").
export type Place = {
  state: string;
  position: number | null;
  ticket: string;
  pass?: string;
  passExpiresAt?: string;
  reason?: string;
};

// useSystem with fastRoom (and `overrides`), and a room client of its API.
export function useRoomSystem(name: string, overrides: Overrides = {}) {
  const settings = () => ({
    ...fastRoom,
    ...(typeof overrides === 'function' ? overrides() : overrides),
  });
  const system = useSystem(name, settings) as OpenSystem & { room: RoomClient };
  beforeAll(() => {
    system.room = roomClient(system.api);
  });
  return system;
}

// useRoomSystem on a Redis server of the file's own (started before the system, stopped after
// it: after hooks run last first), for a test that makes that Redis forget: `redis` is set
// once the tests run.
export function useRoomSystemOnOwnRedis(name: string) {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedisServer();
  });
  afterAll(() => stopRedisServers());
  const system = useRoomSystem(name, () => ({ REDIS_URL: redis.url })) as ReturnType<
    typeof useRoomSystem
  > & { redis: RedisServer };
  beforeAll(() => {
    system.redis = redis;
  });
  return system;
}

// Creates a sale of `stock` units with `waitingRoom`, starting in `startsIn` seconds when
// given (other fields of the sale in `fields`), and answers its id. Its name is 'Room'.
export async function createRoomSale(
  api: Client,
  sku: string,
  stock: number,
  waitingRoom: Record<string, unknown>,
  { startsIn, ...fields }: Record<string, unknown> & { startsIn?: number } = {},
): Promise<number> {
  const startsAt = startsIn === undefined ? {} : { startsAt: inSeconds(startsIn) };
  return createSaleOk(api, { sku, name: 'Room', stock, ...startsAt, waitingRoom, ...fields });
}

// Joins `buyers` one after another (through `rooms`, in turn, when there are several): each
// answered 200. Their tickets, by buyer, in the order they joined.
export async function joinAll(
  rooms: RoomClient | RoomClient[],
  saleId: number,
  buyers: string[],
): Promise<Map<string, string>> {
  const through = Array.isArray(rooms) ? rooms : [rooms];
  const tickets = new Map<string, string>();
  for (const [i, buyer] of buyers.entries()) {
    const joined = await through[i % through.length]!.join(saleId, buyer);
    expect(joined.status, `${buyer} joined: ${JSON.stringify(joined.body)}`).toBe(200);
    tickets.set(buyer, joined.body.ticket as string);
  }
  return tickets;
}

// Polls every place of `tickets`, one after another: each answered 200. With `renew`, each
// answer's ticket replaces the one held (as a buyer's page does), so that a line Redis forgot
// is rebuilt from the latest.
export async function pollAll(
  room: RoomClient,
  saleId: number,
  tickets: Map<string, string>,
  { renew = false } = {},
): Promise<Map<string, Place>> {
  const all = new Map<string, Place>();
  for (const [buyer, ticket] of tickets) {
    const answer = await room.poll(saleId, buyer, ticket);
    expect(answer.status, `${buyer} after ${answer.body.error?.code}`).toBe(200);
    all.set(buyer, answer.body as Place);
    if (renew) tickets.set(buyer, answer.body.ticket as string);
  }
  return all;
}

// Polls the line (renewing the tickets, as pages do) until at least two are admitted: the
// places then, and the poll to use again after a loss.
export async function untilTwoAdmitted(
  room: RoomClient,
  saleId: number,
  tickets: Map<string, string>,
) {
  const poll = () => pollAll(room, saleId, tickets, { renew: true });
  const before = await waitFor(
    async () => {
      const all = await poll();
      return inState(all, 'admitted').length >= 2 && all;
    },
    { what: 'two admitted' },
  );
  return { poll, before };
}

// The buyers of `places` whose state is `state`, in the order of the map.
export const inState = (places: Map<string, Place>, state: string) =>
  [...places].filter(([, place]) => place.state === state).map(([buyer]) => buyer);

// Join, poll until admitted, buy with the pass (answered 202): the order's id.
export async function buyThroughLine(
  room: RoomClient,
  saleId: number,
  buyer: string,
): Promise<string> {
  const tickets = await joinAll(room, saleId, [buyer]);
  const place = await waitFor(
    async () => {
      const polled = (await pollAll(room, saleId, tickets)).get(buyer)!;
      return polled.state === 'admitted' && polled;
    },
    { timeoutMs: 30_000, intervalMs: 300, what: `${buyer} admitted` },
  );
  const bought = await room.buy(saleId, buyer, place.pass);
  expect(bought.status, JSON.stringify(bought.body)).toBe(202);
  return bought.body.orderId as string;
}
