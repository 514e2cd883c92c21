import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page, Route } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitFor } from '../support/env.js';
import { assertOracle } from '../support/oracle.js';
import { buyersNamed } from '../support/buyers.js';
import {
  createRoomSale,
  joinAll,
  pollAll,
  useRoomSystemOnOwnRedis,
  type Place,
} from '../support/room-line.js';
import { launchChromium } from '../support/browser.js';
import { openRoom, placeOf, storedTicket, type Call } from '../support/room-page.js';
import { roomKeys } from '../../src/gate/keys.js';

const artifacts = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../artifacts');
// The room's page (GET /sales/:saleId/room) in real Chromium when the server forgets the
// buyer while the page polls: Redis (a server of the test's own) forgets everything (FLUSHALL,
// what a restart without persistence leaves) before the admitter wrote the buyer's join to
// PostgreSQL, so the buyer's place is in the range a restore gives up unless a ticket brings
// it back (docs/waiting-room.md, "Where it stops / what happens next", the ticket). The
// page's poll is answered NOT_IN_QUEUE; it joins again with its ticket (x-queue-ticket) and
// keeps its place, ahead of a buyer who joined after it; later it is admitted and buys. Each
// state is saved under test/artifacts/ to be looked at.
const system = useRoomSystemOnOwnRedis('roompage-rejoin');
let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium();
  await mkdir(artifacts, { recursive: true });
});
afterAll(() => browser?.close());

const open = (saleId: number, buyer: string, calls: Call[]) =>
  openRoom(
    browser,
    { baseUrl: system.sut.baseUrl, jwtSecret: system.env.config.jwt.secret },
    saleId,
    buyer,
    calls,
  );

const shot = (page: Page, name: string) =>
  page.screenshot({ path: path.join(artifacts, `room-page-rejoin-${name}.png`), fullPage: true });

const admitted = (place: Place) => place.state === 'admitted';

it('rejoins with its ticket when the server forgot the buyer, keeps the place, and buys', async () => {
  const { env, api, room, redis } = system;
  const saleId = await createRoomSale(api, 'rejoin', 5, { admitPerSecond: 1 }, { name: 'Runner' });
  const ahead = await joinAll(room, saleId, buyersNamed('ahead', 8));
  // The line moves: the admitter runs and has published the line's order.
  await waitFor(async () => [...(await pollAll(room, saleId, ahead)).values()].some(admitted), {
    what: 'the first admitted',
  });
  // The admitter stalls (its process frozen while it holds the lease): nobody is admitted and
  // PostgreSQL's count of places handed out stays where it is, short of the page's buyer.
  const lease = roomKeys(env.config.redis.prefix, saleId).lease;
  expect(await redis.cli('SET', lease, 'a-stalled-admitter', 'PX', '60000')).toBe('OK');
  await new Promise((resolve) => setTimeout(resolve, 500));

  const calls: Call[] = [];
  const page = await open(saleId, 'page-frank', calls);
  const position = page.locator('#position');
  await expect.poll(() => position.textContent(), { timeout: 15_000 }).toMatch(/^\d+$/);
  const before = Number(await position.textContent());
  const ticket = await storedTicket(page, saleId);
  const behind = await room.join(saleId, 'behind-gina');
  expect(placeOf(behind.body.ticket)).toBeGreaterThan(placeOf(ticket));
  await shot(page, '1-in-line');

  // The page's polls are held while Redis forgets, so that none is answered from the line as it
  // was (which would put the place back without the page knowing).
  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => (release = resolve));
  const hold = async (route: Route) => {
    if (route.request().method() === 'GET') await held;
    await route.continue();
  };
  await page.route(`**/sales/${saleId}/queue`, hold);
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  expect(await redis.cli('FLUSHALL')).toBe('OK');
  await forgotten(saleId, placeOf(ticket));
  const rejoinedFrom = calls.length;
  release();

  // Answered NOT_IN_QUEUE, the page joins again with the ticket it held: the same place.
  await waitFor(async () => calls.slice(rejoinedFrom).some((c) => c.method === 'POST'), {
    what: 'the page joining again',
  });
  const [notFound, rejoin] = calls.slice(rejoinedFrom);
  expect(notFound).toEqual({ method: 'GET', status: 404, ticket });
  expect(rejoin).toEqual({ method: 'POST', status: 200, ticket });
  await page.unroute(`**/sales/${saleId}/queue`, hold);
  await expect.poll(() => position.textContent(), { timeout: 10_000 }).toMatch(/^\d+$/);
  expect(Number(await position.textContent())).toBeLessThanOrEqual(before);
  expect(placeOf(await storedTicket(page, saleId))).toBe(placeOf(ticket));
  await shot(page, '2-rejoined');

  await expectAheadOfLaterBuyers(saleId, ticket, behind.body.ticket);

  // Its turn comes; it buys from the keyboard and follows the order to confirmed.
  await page.getByRole('heading', { name: 'It is your turn' }).waitFor({ timeout: 30_000 });
  await shot(page, '3-admitted');
  await page.getByLabel('Quantity').fill('1');
  await page.getByLabel('Quantity').press('Enter');
  await page.getByText('Confirmed: the unit is yours.').waitFor({ timeout: 30_000 });
  const orderId = (await page.locator('#order-id').textContent()) ?? '';
  await shot(page, '4-order');
  await page.close();
  await assertOracle(env, saleId, [{ status: 202, orderId, buyer: 'page-frank', quantity: 1 }]);
});

// Not sent to the back: the buyer who joined after the page's (`behindTicket`), back with
// their ticket too, is behind it, and a newcomer behind both.
async function expectAheadOfLaterBuyers(saleId: number, ticket: string, behindTicket: string) {
  const { room } = system;
  const gina = await room.join(saleId, 'behind-gina', behindTicket);
  expect(placeOf(gina.body.ticket)).toBe(placeOf(behindTicket));
  const late = await room.join(saleId, 'late-hal');
  // In that order once the admitter has published the places brought back (a step or two; until
  // then a view may still count one of them given up).
  let read: number[] = [];
  await waitFor(
    async () => {
      read = await Promise.all([
        room.poll(saleId, 'page-frank', ticket),
        room.poll(saleId, 'behind-gina', gina.body.ticket),
        room.poll(saleId, 'late-hal', late.body.ticket),
      ]).then((all) => all.map((p) => p.body.position as number));
      return read[0]! < read[1]! && read[1]! < read[2]!;
    },
    { timeoutMs: 10_000, what: () => `page, behind, newcomer in that order (${read})` },
  );
}

// The room rebuilt from PostgreSQL by the admitter (the lease went with the rest, so the one in
// this process takes it) with `place` among those given up unless a ticket brings them back,
// and published: this process reads the new view within ROOM_VIEW_MS (100 ms here).
async function forgotten(saleId: number, place: number): Promise<void> {
  const { redis, env } = system;
  const k = roomKeys(env.config.redis.prefix, saleId);
  await waitFor(
    async () => {
      const inc = await redis.cli('HGET', k.state, 'inc');
      const view = JSON.parse((await redis.cli('GET', k.view)) || '{}') as { inc?: string };
      return (
        inc !== '' && view.inc === inc && (await redis.cli('GETBIT', k.gone, String(place))) === '1'
      );
    },
    { what: 'the room rebuilt with the place given up' },
  );
  await new Promise((resolve) => setTimeout(resolve, 1_000));
}
