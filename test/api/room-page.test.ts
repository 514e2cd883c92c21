import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestEnv, waitFor, type TestEnv } from '../support/env.js';
import { client, startSystem, type Client, type System } from '../support/system.js';
import { assertOracle } from '../support/oracle.js';
import { buyersNamed } from '../support/buyers.js';
import { roomClient } from '../support/room.js';
import { buyThroughLine, createRoomSale, joinAll } from '../support/room-line.js';
import { launchChromium } from '../support/browser.js';
import { signBuyerToken } from '../../src/auth/jwt.js';
import { cheapProofOfWork } from '../support/proof-of-work.js';

const artifacts = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../artifacts');
// A phone's screen: the page is read there first.
const phone = { width: 390, height: 844 };

// The waiting room's page (GET /sales/:saleId/room) in real Chromium, on the whole pipeline:
// what a buyer sees from before the start to the order's status, and what a latecomer to a
// sold-out sale sees. Each state is saved under test/artifacts/ to be looked at.
let env: TestEnv;
let sut: System;
let api: Client;
let browser: Browser;

beforeAll(async () => {
  env = await createTestEnv('roompage', cheapProofOfWork);
  sut = await startSystem(env);
  api = client(sut.baseUrl, env);
  browser = await launchChromium();
  await mkdir(artifacts, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
  await sut?.stop();
  await env?.cleanup();
});

async function openRoom(saleId: number, buyer: string, calls: string[] = []): Promise<Page> {
  const page = await browser.newPage({ viewport: phone, deviceScaleFactor: 2 });
  // The API calls the page makes, as "METHOD path status".
  page.on('response', (response) => {
    const url = new URL(response.url());
    if (url.pathname.startsWith('/sales/') && !url.pathname.endsWith('/room')) {
      calls.push(`${response.request().method()} ${url.pathname} ${response.status()}`);
    }
  });
  const token = signBuyerToken(buyer, env.config.jwt.secret);
  await page.goto(`${sut.baseUrl}/sales/${saleId}/room#token=${token}`);
  return page;
}

function shot(page: Page, name: string) {
  return page.screenshot({ path: path.join(artifacts, `room-page-${name}.png`), fullPage: true });
}

it('serves the page and its files under a CSP, and nothing else', async () => {
  const page = await fetch(`${sut.baseUrl}/sales/7/room?token=x`);
  expect(page.status).toBe(200);
  expect(page.headers.get('content-type')).toMatch(/^text\/html/);
  expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
  expect(await page.text()).toContain('<script type="module" src="/room/room.js">');
  for (const file of ['room.js', 'api.js', 'order.js', 'solver.js']) {
    const answer = await fetch(`${sut.baseUrl}/room/${file}`);
    expect(answer.status, file).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^text\/javascript/);
  }
  expect((await fetch(`${sut.baseUrl}/room/room.html`)).status).toBe(404);
  expect((await fetch(`${sut.baseUrl}/room/..%2Fpackage.json`)).status).toBe(404);
  expect((await fetch(`${sut.baseUrl}/sales/x/room`)).status).toBe(400);
});

it('shows the countdown, the place, the turn, and the order of a buyer who joined early', async () => {
  const shoes = { startsIn: 8, name: 'Trail shoes, size 42' };
  const saleId = await createRoomSale(api, 'room-page', 3, { admitPerSecond: 5 }, shoes);
  const page = await openRoom(saleId, 'page-alice');

  // Before the start: the countdown runs and the buyer is in the prequeue.
  await page.getByText('drawn at the start').waitFor();
  await expect.poll(() => page.locator('#countdown').textContent()).toMatch(/^00:00:0\d$/);
  expect(await page.locator('#countdown-box').isVisible()).toBe(true);
  // The token left the address bar once read.
  expect(page.url()).toBe(`${sut.baseUrl}/sales/${saleId}/room`);
  expect(await page.getByRole('status').textContent()).toMatch(/in the line/);
  await shot(page, '1-countdown');

  // At the start the line is drawn and the outflow admits her: the purchase is offered.
  await page.getByRole('heading', { name: 'It is your turn' }).waitFor({ timeout: 30_000 });
  expect(await page.locator('#countdown-box').isVisible()).toBe(false);
  expect(await page.getByRole('status').textContent()).toContain('your turn');
  await expect.poll(() => page.locator('#pass-note').textContent()).toMatch(/held for you/);
  await shot(page, '2-admitted');

  // Bought from the keyboard alone: the quantity's label finds the field, Enter submits.
  await page.getByLabel('Quantity').fill('1');
  await page.getByLabel('Quantity').press('Enter');
  await page.getByText('Confirmed: the unit is yours.').waitFor({ timeout: 30_000 });
  const orderId = (await page.locator('#order-id').textContent()) ?? '';
  expect(await page.locator('#order-status').textContent()).toBe('confirmed');
  await shot(page, '3-order');
  await page.close();

  await assertOracle(env, saleId, [{ status: 202, orderId, buyer: 'page-alice', quantity: 1 }]);
});

it("shows a latecomer's position and wait, and moves them up", async () => {
  const hoodie = { name: 'Limited hoodie' };
  const saleId = await createRoomSale(api, 'room-page-late', 50, { admitPerSecond: 1 }, hoodie);
  // Ten buyers in line first: after the start the line is first come, first served.
  await joinAll(roomClient(api), saleId, buyersNamed('early', 10));
  const page = await openRoom(saleId, 'page-erin');
  const position = page.locator('#position');
  await expect.poll(() => position.textContent(), { timeout: 15_000 }).toMatch(/^\d+$/);
  const first = Number(await position.textContent());
  expect(first).toBeGreaterThan(1);
  // The wait shows once the room has measured its outflow (null, '–', before that).
  await expect
    .poll(() => page.locator('#eta').textContent(), { timeout: 15_000 })
    .toMatch(/\d+ s|min/);
  await shot(page, '5-waiting');
  // The outflow admits one a second: the page follows the line as it moves.
  await expect
    .poll(async () => Number((await position.textContent()) ?? first), { timeout: 20_000 })
    .toBeLessThan(first);
  await page.close();
});

it('tells a buyer of a sold-out sale at once', async () => {
  const pair = { name: 'Last pair' };
  const saleId = await createRoomSale(api, 'room-page-gone', 1, { admitPerSecond: 5 }, pair);
  const orderId = await buyThroughLine(roomClient(api), saleId, 'page-bob');
  await waitFor(async () => (await api.order(orderId, 'page-bob')).body.status === 'confirmed', {
    what: 'the order confirmed',
  });

  // The room learns of the sell-out from its view, read every ROOM_VIEW_MS: a join in that
  // moment is answered a place that its next poll closes (seen in CI: the page polled once).
  // Once a probe's join is refused, the buyer's must be too, without a poll.
  await waitFor(
    async () => {
      const probe = await api.raw('POST', `/sales/${saleId}/queue`, api.buyerHeaders('probe'));
      return probe.status === 409 || probe.body?.state === 'closed';
    },
    { what: 'the room told of the sell-out' },
  );
  const calls: string[] = [];
  const page = await openRoom(saleId, 'page-carol', calls);
  await page.getByText('Sold out: every unit has been sold.').waitFor({ timeout: 10_000 });
  expect(await page.getByRole('heading', { name: 'The line is closed' }).isVisible()).toBe(true);
  expect(await page.locator('#place-box').isVisible()).toBe(false);
  await shot(page, '4-sold-out');
  await page.close();
  // "At once": the join's own answer says so; the page never waited in a line for nothing.
  // (409 SOLD_OUT, or 200 with the place already closed SOLD_OUT while the join's view of the
  // room was a moment old: both tell at once.)
  expect(calls[0]).toBe(`GET /sales/${saleId} 200`);
  expect(calls[1]).toMatch(new RegExp(`^POST /sales/${saleId}/queue (409|200)$`));
  expect(calls.filter((call) => call.startsWith(`GET /sales/${saleId}/queue`))).toEqual([]);

  await assertOracle(env, saleId, [{ status: 202, orderId, buyer: 'page-bob', quantity: 1 }]);
});

it('solves the proof of work of a sale that asks for it, and joins with it', async () => {
  const bundle = { startsIn: 120, name: 'Console bundle', proofOfWork: true };
  const saleId = await createRoomSale(api, 'room-page-work', 5, {}, bundle);
  const calls: string[] = [];
  const page = await openRoom(saleId, 'page-dave', calls);
  await page.getByText('drawn at the start').waitFor({ timeout: 15_000 });
  await page.close();
  // The challenge asked for and solved in the page (the solver as served under /room/),
  // and the join accepted with its solution.
  expect(calls).toContain(`GET /sales/${saleId}/challenge 200`);
  expect(calls).toContain(`POST /sales/${saleId}/queue 200`);
});
