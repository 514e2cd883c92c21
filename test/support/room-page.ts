import type { Browser, Page } from 'playwright-core';
import { expect } from 'vitest';
import { signBuyerToken } from '../../src/auth/jwt.js';

// A phone's screen: the room's page is read there first.
export const phone = { width: 390, height: 844 };

// The page's calls to the line, in order: method, status, and the ticket the request carried.
export type Call = { method: string; status: number; ticket: string | undefined };

// The room's page of `saleId` for `buyer` at phone size, its calls to the line kept in `calls`.
export async function openRoom(
  browser: Browser,
  target: { baseUrl: string; jwtSecret: string },
  saleId: number,
  buyer: string,
  calls: Call[],
): Promise<Page> {
  const page = await browser.newPage({ viewport: phone, deviceScaleFactor: 2 });
  page.on('response', (response) => {
    const request = response.request();
    if (new URL(response.url()).pathname !== `/sales/${saleId}/queue`) return;
    const ticket = request.headers()['x-queue-ticket'];
    calls.push({ method: request.method(), status: response.status(), ticket });
  });
  const token = signBuyerToken(buyer, target.jwtSecret);
  await page.goto(`${target.baseUrl}/sales/${saleId}/room#token=${token}`);
  return page;
}

// The ticket the page keeps for a reload (web/room/room.js, sessionStorage).
export async function storedTicket(page: Page, saleId: number): Promise<string> {
  const key = `flashline.room.${saleId}.ticket`;
  // No DOM types here: the page's storage, as the page sees it.
  const ticket = await page.evaluate((k) => {
    const storage = (globalThis as unknown as { sessionStorage: { getItem(k: string): string } })
      .sessionStorage;
    return storage.getItem(k);
  }, key);
  expect(ticket).toMatch(/^\d+\.\d+\./);
  return ticket!;
}

// A ticket's place number (src/room/tokens.ts: sale.place.joinedAt.admitted.mac).
export const placeOf = (ticket: string) => Number(ticket.split('.')[1]);
