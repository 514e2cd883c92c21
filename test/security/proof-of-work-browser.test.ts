import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestEnv } from '../support/env.js';
import { client, type System, openSystem, closeSystem } from '../support/system.js';
import { assertOracle } from '../support/oracle.js';
import { createSaleOk } from '../support/sales.js';
import { launchChromium } from '../support/browser.js';
import { bearer } from '../support/proof-of-work.js';
import { solveChallenge } from '../../src/pow/browser-solver.js';
import { loadConfig } from '../../src/config.js';

const artifacts = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../artifacts');

type PageResult = {
  challenge: number;
  cost: number;
  purchase: number;
  orderId?: string;
  ms: number;
};

// What the waiting room's page will do, in real Chromium: ask for a challenge, solve it with
// src/pow/browser-solver.ts in WebCrypto, and buy with the solution in X-Altcha. The page runs
// on the API's own origin, as the room's page will (no CORS).
describe('a browser solving a proof-of-work challenge', () => {
  let env: TestEnv;
  let sut: System;
  let browser: Browser;

  beforeAll(async () => {
    // The defaults' highest cost, at the real number of attempts: what a person meets in a crowd.
    const highest = String(loadConfig({}).pow.maxCost);
    ({ env, sut } = await openSystem('powbrowser', {
      POW_MIN_COST: highest,
      POW_MAX_COST: highest,
    }));
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await closeSystem(sut, env);
  });

  it('solves a challenge at the highest default cost and buys with it', async () => {
    const api = client(sut.baseUrl, env);
    const saleId = await createSaleOk(api, {
      sku: 'pow-page',
      name: 'Page',
      stock: 3,
      proofOfWork: true,
    });
    const page = await browser.newPage();
    await page.goto(`${sut.baseUrl}/healthz`);
    await page.addScriptTag({ content: `window.solveChallenge = ${solveChallenge.toString()};` });
    const result = await page.evaluate(
      async ({ saleId, authorization }): Promise<PageResult> => {
        const started = performance.now();
        const asked = await fetch(`/sales/${saleId}/challenge`, { headers: { authorization } });
        const challenge = (await asked.json()) as { parameters: { cost: number } };
        // No DOM types here: the page's globals, as the page sees them.
        const globals = globalThis as unknown as {
          solveChallenge: (c: unknown) => Promise<string>;
          document: { body: { innerHTML: string } };
        };
        const solve = globals.solveChallenge;
        const altcha = await solve(challenge);
        const bought = await fetch(`/sales/${saleId}/purchase`, {
          method: 'POST',
          headers: { authorization, 'content-type': 'application/json', 'x-altcha': altcha },
          body: '{"quantity":1}',
        });
        const body = (await bought.json()) as { orderId?: string; error?: { code: string } };
        const ms = Math.round(performance.now() - started);
        globals.document.body.innerHTML = `<h1>Proof of work</h1><p>cost ${challenge.parameters.cost}, solved and bought in ${ms} ms: ${bought.status} ${body.orderId ?? body.error?.code}</p>`;
        return {
          challenge: asked.status,
          cost: challenge.parameters.cost,
          purchase: bought.status,
          orderId: body.orderId,
          ms,
        };
      },
      { saleId, authorization: bearer(env, 'browser-buyer') },
    );
    await mkdir(artifacts, { recursive: true });
    await page.screenshot({ path: path.join(artifacts, 'proof-of-work-browser.png') });
    console.log('browser solve', result);
    expect(result).toMatchObject({
      challenge: 200,
      cost: env.config.pow.maxCost,
      purchase: 202,
    });
    await assertOracle(env, saleId, [
      { status: result.purchase, orderId: result.orderId, buyer: 'browser-buyer', quantity: 1 },
    ]);
  });
});
