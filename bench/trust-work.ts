// What proof of work costs, for bench/trust.ts: a solve at each cost level on a bot's core
// (Node, pbkdf2Sync in a tight loop: the fastest a script gets without native code) and in
// Chromium (src/pow/browser-solver.ts, WebCrypto, one thread), what issuing a challenge costs
// the server, and what checking a solution costs it.
import { pbkdf2Sync } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Challenge } from 'altcha-lib';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../test/support/browser.js';
import { solveChallenge } from '../src/pow/browser-solver.js';
import { challengeSecrets, createSaleChallenge } from '../src/pow/challenge.js';
import { checkSolution } from '../src/pow/solution.js';

// A bot's solver: ALTCHA v2's search (nonce + big-endian uint32 counter, PBKDF2-SHA-256) in
// node:crypto, synchronous. Returns the X-Altcha value, as the page's solver does.
export function solveOnCore(challenge: Challenge): string {
  const p = challenge.parameters;
  const nonce = Buffer.from(p.nonce, 'hex');
  const salt = Buffer.from(p.salt, 'hex');
  const prefix = Buffer.from(p.keyPrefix, 'hex');
  const password = Buffer.alloc(nonce.length + 4);
  nonce.copy(password);
  for (let counter = 0; ; counter++) {
    password.writeUInt32BE(counter, nonce.length);
    const key = pbkdf2Sync(password, salt, p.cost, p.keyLength, 'sha256');
    if (key.subarray(0, prefix.length).equals(prefix)) {
      const solution = { counter, derivedKey: key.toString('hex') };
      return Buffer.from(JSON.stringify({ challenge, solution })).toString('base64');
    }
  }
}

const cpuSeconds = (since: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6;
};

// A challenge some `attempts` attempts from its solution (the figures divide by the count the
// solve actually took).
function challengeOf(cost: number, attempts: number): Promise<Challenge> {
  const secrets = challengeSecrets('bench-secret-0123456789');
  return createSaleChallenge(secrets, {
    buyer: 'bench',
    saleId: 1,
    cost,
    attempts,
    lifetimeSeconds: 600,
  });
}

// A page on 127.0.0.1 (a secure context: WebCrypto needs one) with the page's solver on it.
async function solverPage(browser: Browser) {
  const server = createServer((_, response) => response.end('<html><body></body></html>'));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  await page.addScriptTag({ content: `window.solveChallenge = ${solveChallenge.toString()};` });
  server.close();
  return page;
}

export type CostLevel = {
  cost: number;
  coreMicrosPerAttempt: number;
  browserMicrosPerAttempt: number | null;
  // Expected seconds to solve at POW_ATTEMPTS attempts on average.
  coreSecondsPerSolve: number;
  browserSecondsPerSolve: number | null;
  issueMicros: number;
};

// Per attempt on one core, and in Chromium when it can be launched.
export async function costLevels(
  costs: number[],
  attempts: number,
  sampleAttempts: number,
): Promise<CostLevel[]> {
  let browser: Browser | null = null;
  try {
    browser = await launchChromium();
  } catch {
    browser = null;
  }
  const page = browser ? await solverPage(browser) : null;
  const levels: CostLevel[] = [];
  for (const cost of costs) {
    const challenge = await challengeOf(cost, sampleAttempts);
    const before = process.cpuUsage();
    const solution = JSON.parse(Buffer.from(solveOnCore(challenge), 'base64').toString());
    const core = cpuSeconds(before) / (solution.solution.counter + 1);
    let browserPer: number | null = null;
    if (page) {
      const ms = await page.evaluate(async (c) => {
        const solve = (globalThis as unknown as { solveChallenge: (c: unknown) => Promise<string> })
          .solveChallenge;
        const started = performance.now();
        await solve(c);
        return performance.now() - started;
      }, challenge as never);
      browserPer = ms / 1000 / (solution.solution.counter + 1);
    }
    const issueBefore = process.cpuUsage();
    const issued = 20;
    for (let i = 0; i < issued; i++) await challengeOf(cost, 10);
    levels.push({
      cost,
      coreMicrosPerAttempt: Math.round(core * 1e6),
      browserMicrosPerAttempt: browserPer === null ? null : Math.round(browserPer * 1e6),
      coreSecondsPerSolve: round(core * attempts),
      browserSecondsPerSolve: browserPer === null ? null : round(browserPer * attempts),
      issueMicros: Math.round((cpuSeconds(issueBefore) / issued) * 1e6),
    });
  }
  await browser?.close();
  return levels;
}

const round = (n: number) => Math.round(n * 1000) / 1000;

// What checking a solution costs the server (no Redis: the one-use SET is a round trip the
// throughput measure includes): distinct solutions, checked one after another.
export async function checkCost(count: number): Promise<{ microsPerCheck: number }> {
  const secrets = challengeSecrets('bench-secret-0123456789');
  const headers: string[] = [];
  for (let i = 0; i < count; i++) {
    const challenge = await createSaleChallenge(secrets, {
      buyer: `b${i}`,
      saleId: 7,
      cost: 1,
      attempts: 2,
      lifetimeSeconds: 600,
    });
    headers.push(solveOnCore(challenge));
  }
  // This process's CPU, not the wall clock: the machine is shared.
  const before = process.cpuUsage();
  for (let i = 0; i < count; i++) {
    const check = checkSolution(secrets, headers[i], `b${i}`, 7);
    if (check.kind !== 'solved') throw new Error(`bench solution refused: ${check.kind}`);
  }
  return { microsPerCheck: Math.round((cpuSeconds(before) / count) * 1e6) };
}
