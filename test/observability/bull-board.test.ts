import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import type { Browser, Response } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type TestEnv } from '../support/env.js';
import { client, type System, openSystem, closeSystem } from '../support/system.js';
import { buyersNamed, buyOnce } from '../support/buyers.js';
import { assertOracle, type Answer } from '../support/oracle.js';
import { findBrowser, launchChromium } from '../support/browser.js';
import { bullPrefix } from '../../src/queues/names.js';

const artifacts = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../artifacts');

const browserFound = findBrowser();

// The one line a user needs, without a stack trace pointing into this file.
const requireBrowser = (): string => {
  if ('path' in browserFound) return browserFound.path;
  const missing = new Error(browserFound.problem);
  missing.stack = missing.message;
  throw missing;
};

// bull-board in a real browser
let env: TestEnv;
let sut: System;
let browser: Browser;
let saleAnswers: Answer[];
const startedIn = process.cwd();

beforeAll(async () => {
  // Without a browser each test fails with the one line; nothing else is worth starting.
  if (!('path' in browserFound)) return;
  ({ env, sut } = await openSystem('bullboard'));
  browser = await launchChromium();
  const api = client(sut.baseUrl, env);
  const created = await api.createSale({ sku: 'board-3', name: 'Three', stock: 3 });
  const saleId = created.body.id as number;
  saleAnswers = await buyOnce(api, saleId, buyersNamed('buyer', 4), 4);
  await assertOracle(env, saleId, saleAnswers);
  // A queue the API knows nothing about, which the board must find by itself.
  const other = new Queue('maintenance', {
    connection: { url: env.config.redis.url },
    prefix: bullPrefix(env.config),
  });
  await other.add('sweep', { note: 'no worker takes this' });
  await other.close();
  // The assets must not depend on where the process runs: move away from the repository.
  process.chdir(tmpdir());
});
afterAll(async () => {
  process.chdir(startedIn);
  await browser?.close();
  await closeSystem(sut, env);
});

it('shows the order queue and its job counts to a logged-in admin', async () => {
  requireBrowser();
  const accepted = saleAnswers.filter((a) => a.status === 202).map((a) => a.orderId!);
  expect(accepted).toHaveLength(3);
  const context = await browser.newContext({
    httpCredentials: { username: 'admin', password: env.config.auth.adminToken },
    viewport: { width: 1280, height: 800 },
  });
  try {
    const page = await context.newPage();
    const assets: Response[] = [];
    page.on('response', (response) => {
      if (new URL(response.url()).pathname.startsWith('/admin/queues/static/')) {
        assets.push(response);
      }
    });
    const entry = await page.goto(`${sut.baseUrl}/admin/queues`);
    expect(entry?.status()).toBe(200);

    // The overview: one card per queue, with its job total and a badge per state.
    const card = page.locator('li', { has: page.getByRole('link', { name: 'orders' }) });
    await card.getByText('3 Jobs').waitFor({ timeout: 30_000 });
    const completedTab = page.getByRole('link', { name: /COMPLETED/ });
    expect(await completedTab.innerText()).toMatch(/COMPLETED\s*3/);
    // Discovered in the background on the first poll, shown from the next one on.
    const otherCard = page.locator('li', {
      has: page.getByRole('link', { name: 'maintenance' }),
    });
    await otherCard.getByText(/^1 Jobs?$/).waitFor({ timeout: 60_000 });
    await mkdir(artifacts, { recursive: true });
    await page.screenshot({ path: path.join(artifacts, 'bull-board-overview.png') });

    // The queue itself: every accepted order is a completed job, named by its order id.
    await page.getByRole('link', { name: 'orders' }).first().click();
    await page.getByRole('link', { name: /COMPLETED/ }).click();
    for (const orderId of accepted) {
      await page.getByText(orderId).first().waitFor({ timeout: 30_000 });
    }
    await page.screenshot({
      path: path.join(artifacts, 'bull-board-orders.png'),
      fullPage: true,
    });

    // Every stylesheet and script came from the package, though the cwd is elsewhere now.
    expect(assets.length).toBeGreaterThan(0);
    const broken = assets.filter((r) => ![200, 304].includes(r.status()));
    expect(broken.map((r) => `${r.status()} ${r.url()}`)).toEqual([]);
  } finally {
    await context.close();
  }
});

it('refuses the board without credentials or with a wrong token', async () => {
  requireBrowser();
  for (const httpCredentials of [undefined, { username: 'admin', password: 'not-the-token' }]) {
    const context = await browser.newContext(httpCredentials ? { httpCredentials } : {});
    try {
      const page = await context.newPage();
      const refused = page.waitForResponse((r) => new URL(r.url()).pathname === '/admin/queues');
      // With no credentials Chromium abandons the navigation; with wrong ones it shows the 401.
      const navigation = await page.goto(`${sut.baseUrl}/admin/queues`).catch((e: Error) => e);
      const response = await refused;
      expect(response.status()).toBe(401);
      expect(response.headers()['www-authenticate']).toMatch(/^Basic /);
      if (!(navigation instanceof Error)) expect(navigation?.status()).toBe(401);
      expect(await page.getByRole('link', { name: 'orders' }).count()).toBe(0);
      const api = await page.request.get(`${sut.baseUrl}/admin/queues/api/queues`);
      expect(api.status()).toBe(401);
      expect(await api.json()).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
    } finally {
      await context.close();
    }
  }
});
