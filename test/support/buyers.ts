import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from './env.js';
import { assertOracle, type Answer, type OracleOptions } from './oracle.js';
import { groupByStatus, pool, type Client } from './system.js';
import type { TestEnv } from './env.js';
import { expect } from 'vitest';

// Buyers for the tests: once each (buyOnce), or in the background while a test breaks
// something (keepBuying, shopInBackground), both on one loop of lanes with one answer type.

// Every buyer presses buy once; at most `concurrency` requests in flight.
export function buyOnce(
  api: Client,
  saleId: number,
  buyers: string[],
  concurrency = 32,
  quantity = 1,
): Promise<Answer[]> {
  return pool(
    buyers.map((buyer) => async (): Promise<Answer> => {
      const answer = await api.purchase(saleId, buyer, { quantity });
      return { status: answer.status, orderId: answer.body?.orderId, buyer, quantity };
    }),
    concurrency,
  );
}

export const buyersNamed = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, i) => `${prefix}-${i}`);

export type Press = { buyer: string; quantity?: number; idempotencyKey?: string };

// An answer with when its request was sent and answered, and the headers a client acts on.
// A request the API never answered has status 0.
export type TimedAnswer = Answer & {
  sentAt: number;
  answeredAt: number;
  code?: string;
  retryAfter: string | null;
};

type Lanes = { lanes: number; gapMs: number; backoffMs: number; keepUnanswered: boolean };

// Where the presses come from: `next` (undefined: nothing to press yet), whether all is done,
// and what an answer means (true: that lane backs off, as a client honouring Retry-After).
type Source = {
  next: () => Press | undefined;
  finished: (inFlight: number) => boolean;
  answered: (press: Press, answer: TimedAnswer) => boolean;
};

function buyInBackground(api: Client, saleId: number, source: Source, lanes: Lanes) {
  const answers: TimedAnswer[] = [];
  let stopped = false;
  let inFlight = 0;
  const press = async ({ buyer, quantity = 1, idempotencyKey }: Press): Promise<TimedAnswer> => {
    const sentAt = Date.now();
    const headers: Record<string, string> =
      idempotencyKey === undefined ? {} : { 'idempotency-key': idempotencyKey };
    const answer = await api.purchase(saleId, buyer, { quantity }, headers).catch(() => null);
    const timed: TimedAnswer = {
      status: answer?.status ?? 0,
      orderId: answer?.body?.orderId as string | undefined,
      code: answer?.body?.error?.code as string | undefined,
      buyer,
      quantity,
      ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
      sentAt,
      answeredAt: Date.now(),
      retryAfter: answer?.headers.get('retry-after') ?? null,
    };
    if (answer !== null || lanes.keepUnanswered) answers.push(timed);
    return timed;
  };
  const running = Array.from({ length: lanes.lanes }, async () => {
    while (!stopped && !source.finished(inFlight)) {
      const next = source.next();
      if (next === undefined) {
        await sleep(10);
        continue;
      }
      inFlight += 1;
      const answer = await press(next).finally(() => (inFlight -= 1));
      await sleep(source.answered(next, answer) ? lanes.backoffMs : lanes.gapMs);
    }
  });
  return {
    answers,
    // One more press outside the lanes (a retry), recorded with the others.
    press,
    accepted: (sentAfter = 0) =>
      answers.filter((a) => a.status === 202 && a.sentAt > sentAfter).length,
    tally: () => tally(answers),
    finished: () => source.finished(inFlight),
    stop: async () => {
      stopped = true;
      await Promise.all(running);
      return answers;
    },
  };
}

// Buyers keep pressing buy, `lanes` at a time with `gapMs` between one lane's requests, until
// `stop` is called; press `i` is `next(i)`. A 503 or 429 is followed by a longer pause.
export function keepBuying(
  api: Client,
  saleId: number,
  next: (i: number) => Press,
  { lanes = 4, gapMs = 40, backoffMs = 100 } = {},
) {
  let pressed = 0;
  return buyInBackground(
    api,
    saleId,
    {
      next: () => next(pressed++),
      finished: () => false,
      answered: (_, answer) => answer.status === 503 || answer.status === 429,
    },
    { lanes, gapMs, backoffMs, keepUnanswered: true },
  );
}

// Buyers keep pressing buy until each has a final answer: a buyer answered 503 or 429, or not
// answered at all, tries again later; one answered 202 or 409 is done. At most `admit`
// distinct buyers are let in (raise it with `admit()`), so a slow fault cannot let the first
// wave sell out the sale before the fault is even under way.
export function shopInBackground(
  api: Client,
  saleId: number,
  buyers: string[],
  { lanes = 6, pauseMs = 15, retryPauseMs = 100, admit = 100 } = {},
) {
  const fresh = [...buyers];
  const retry: string[] = [];
  let budget = admit;
  let admitted = 0;
  const shopping = buyInBackground(
    api,
    saleId,
    {
      next: () => {
        const again = retry.shift();
        if (again !== undefined || admitted >= budget || fresh.length === 0) {
          return again === undefined ? undefined : { buyer: again };
        }
        admitted += 1;
        return { buyer: fresh.shift()! };
      },
      finished: (inFlight) => fresh.length === 0 && retry.length === 0 && inFlight === 0,
      answered: ({ buyer }, { status }) => {
        const again = status === 503 || status === 429 || status === 0;
        if (again) retry.push(buyer);
        return again;
      },
    },
    { lanes, gapMs: pauseMs, backoffMs: retryPauseMs, keepUnanswered: false },
  );
  return {
    ...shopping,
    // Lets `more` buyers in (all of them when left out).
    admit: (more = Number.POSITIVE_INFINITY) => {
      budget += more;
    },
    // Resolves once every buyer has a final answer.
    done: () =>
      waitFor(async () => shopping.finished(), {
        timeoutMs: 60_000,
        intervalMs: 50,
        what: () => `every buyer answered 202 or 409 (${shopping.tally()})`,
      }),
  };
}

// Answers counted by status (and error code where there is one), for failure messages.
export function tally(answers: { status: number; code?: string }[]): string {
  const counts: Record<string, number> = {};
  for (const { status, code } of answers) {
    const label = code ? `${status} ${code}` : String(status);
    counts[label] = (counts[label] ?? 0) + 1;
  }
  return JSON.stringify(Object.fromEntries(Object.entries(counts).sort()));
}

// Press i of a sale rush: most buyers press once, half of them with an Idempotency-Key; every
// tenth press is a buyer's second unit, and every tenth a retry of a key pressed before.
export function pressOf(i: number): Press {
  if (i % 10 === 9) return pressOf(i - 9);
  if (i % 10 === 3) return { buyer: `buyer-${i - 3}`, idempotencyKey: `k-${i}` };
  return { buyer: `buyer-${i}`, ...(i % 2 === 0 ? { idempotencyKey: `k-${i}` } : {}) };
}

// A sale a test has put under load, and how the oracle reads it.
export type SaleUnderTest = {
  env: TestEnv;
  api: Client;
  saleId: number;
  stock: number;
  oracle?: OracleOptions;
};

// The units not sold are buyable again, to the last one, and then the sale is sold out.
export async function assertRestBuyable(
  sale: SaleUnderTest,
  answers: TimedAnswer[],
  confirmedUnits: number,
) {
  const { env, api, saleId, stock } = sale;
  const left = stock - confirmedUnits;
  const fresh = await buyOnce(api, saleId, buyersNamed('fresh', left + 10), 16);
  const freshByStatus = groupByStatus(fresh);
  expect(freshByStatus['202']?.length ?? 0, 'fresh buyers get every unit left').toBe(left);
  expect(freshByStatus['409']?.length ?? 0, 'then the sale is sold out').toBe(10);
  const oracle = await assertOracle(env, saleId, [...answers, ...fresh], {
    timeoutMs: 30_000,
    ...sale.oracle,
  });
  expect(oracle.confirmedUnits, 'sold out exactly').toBe(stock);
}
