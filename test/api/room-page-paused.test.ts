import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitFor } from '../support/env.js';
import { adminOf } from '../support/admin.js';
import { createRoomSale, useRoomSystem } from '../support/room-line.js';
import { launchChromium } from '../support/browser.js';
import { openRoom, placeOf, storedTicket, type Call } from '../support/room-page.js';

const artifacts = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../artifacts');
// The room's page in real Chromium when its place is not found while the sale is paused: the
// kill switch refuses joins, a rejoin with a ticket too (API.md, Operating a sale). The page
// must keep the ticket and try again, not drop it (a retry, or a reload, would then join at
// the back). The server's NOT_IN_QUEUE is played to the page once (what a Redis that forgot
// the line answers, test/api/room-page-rejoin.test.ts); the pause, the refusal and the place
// kept are the real API's.
const system = useRoomSystem('roompage-paused');
let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium();
  await mkdir(artifacts, { recursive: true });
});
afterAll(() => browser?.close());

it('keeps its ticket through a paused sale and has its place back once resumed', async () => {
  const { env, api, sut } = system;
  const saleId = await createRoomSale(api, 'paused', 5, { admitPerSecond: 1 }, { startsIn: 120 });
  const calls: Call[] = [];
  const target = { baseUrl: sut.baseUrl, jwtSecret: env.config.jwt.secret };
  const page = await openRoom(browser, target, saleId, 'page-ida', calls);
  await page.getByText('drawn at the start').waitFor({ timeout: 15_000 });
  const ticket = await storedTicket(page, saleId);

  expect((await adminOf(api, env).pause(saleId)).status).toBe(200);
  await page.route(
    `**/sales/${saleId}/queue`,
    (route) =>
      route.fulfill({
        status: 404,
        contentType: 'application/json',
        body: JSON.stringify({ error: { code: 'NOT_IN_QUEUE', message: 'no place in this line' } }),
      }),
    { times: 1 },
  );
  const from = calls.length;
  // The page's next poll (2 s in the prequeue) is told NOT_IN_QUEUE; its rejoin, refused.
  await waitFor(async () => calls.slice(from).some((c) => c.method === 'POST'), {
    timeoutMs: 15_000,
    what: 'the page joining again',
  });
  expect(calls.slice(from, from + 2)).toEqual([
    { method: 'GET', status: 404, ticket },
    { method: 'POST', status: 403, ticket },
  ]);
  await expect
    .poll(() => page.locator('#notice').textContent(), { timeout: 5_000 })
    .toMatch(/^The sale is paused/);
  expect(await storedTicket(page, saleId)).toBe(ticket);
  await page.screenshot({
    path: path.join(artifacts, 'room-page-paused.png'),
    fullPage: true,
  });

  // Resumed: the page's next try has its place back (the same number), in line again.
  const resumedFrom = calls.length;
  expect((await adminOf(api, env).resume(saleId)).status).toBe(200);
  await waitFor(async () => calls.slice(resumedFrom).some((c) => c.status === 200), {
    timeoutMs: 20_000,
    what: 'the page back in line',
  });
  await page.getByText('drawn at the start').waitFor({ timeout: 5_000 });
  expect(placeOf(await storedTicket(page, saleId))).toBe(placeOf(ticket));
  expect(calls.slice(resumedFrom).every((c) => c.ticket !== undefined)).toBe(true);
  await page.close();
});
