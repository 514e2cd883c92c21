import { accessSync, constants, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { chromium, type Browser, type Response } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '../support/env.js';
import { client, pool, startSystem, type System } from '../support/system.js';
import { assertOracle, type Answer } from '../support/oracle.js';
import { bullPrefix } from '../../src/queues/names.js';

const artifacts = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../artifacts');

// Any installed Chromium or Chrome: CHROME_PATH, else the usual names on PATH, else the usual
// macOS apps. playwright-core never downloads a browser.
const browserNames = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];
const macApps = [
  '/Applications/Chromium.app/Contents/MacOS/Chromium',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
];

const isExecutable = (file: string): boolean => {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
};

const findBrowser = (): { path: string } | { problem: string } => {
  const install =
    'install it with `sudo apt-get install -y chromium` (Debian; any Chrome or Chromium will do)';
  const chosen = process.env.CHROME_PATH;
  if (chosen) {
    if (isExecutable(chosen)) return { path: chosen };
    return { problem: `CHROME_PATH=${chosen} is not an executable file: ${install}` };
  }
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  const candidates = [
    ...browserNames.flatMap((name) => dirs.map((dir) => path.join(dir, name))),
    ...macApps,
  ];
  const found = candidates.find(isExecutable);
  if (found) return { path: found };
  return {
    problem: `bull-board's browser test needs Chromium, and none of ${browserNames.join(', ')} is on PATH: ${install}, or set CHROME_PATH`,
  };
};

const browserFound = findBrowser();

// The one line a user needs, without a stack trace pointing into this file.
const requireBrowser = (): string => {
  if ('path' in browserFound) return browserFound.path;
  const missing = new Error(browserFound.problem);
  missing.stack = missing.message;
  throw missing;
};

const launchChromium = () =>
  chromium.launch({
    executablePath: requireBrowser(),
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });

// bull-board in a real browser
let env: TestEnv;
let sut: System;
let browser: Browser;
let saleAnswers: Answer[];
const startedIn = process.cwd();

beforeAll(async () => {
  // Without a browser each test fails with the one line; nothing else is worth starting.
  if (!('path' in browserFound)) return;
  env = await createTestEnv('bullboard');
  sut = await startSystem(env);
  browser = await launchChromium();
  const api = client(sut.baseUrl, env);
  const created = await api.createSale({ sku: 'board-3', name: 'Three', stock: 3 });
  const saleId = created.body.id as number;
  saleAnswers = await pool(
    Array.from({ length: 4 }, (_, i) => async (): Promise<Answer> => {
      const buyer = `buyer-${i}`;
      const answer = await api.purchase(saleId, buyer);
      return { status: answer.status, orderId: answer.body?.orderId, buyer, quantity: 1 };
    }),
    4,
  );
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
  await sut?.stop();
  await env?.cleanup();
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
