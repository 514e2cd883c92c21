// What a bot farm pays against what one person pays, for bench/trust.ts, on the running API
// with the default costs, at a drop: a sale with proof of work opening in a few seconds. The
// farm's clients each come from an address of their own (through a trusted proxy:
// TRUSTED_PROXIES=127.0.0.1), all ask for a challenge before the opening (so at the highest
// cost: a challenge asked early could be solved early), then solve them on every core the farm
// has (worker threads, the bot solver of ./trust-work.ts) and buy with each solution from the
// opening, until `places` purchases are accepted. A person asks for one challenge and solves it
// once: at the drop, and alone at a quiet moment of a sale already open.
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import type { Challenge } from 'altcha-lib';
import { signBuyerToken } from '../src/auth/jwt.js';
import { solveOnCore } from './trust-work.js';

export type FarmResult = {
  clients: number;
  places: number;
  farmCpuSeconds: number;
  farmWallSeconds: number;
  farmCosts: { min: number; median: number; max: number };
  solvesTried: number;
  // Challenges that expired before the farm used them, asked for again (and their costs).
  reasked: number;
  reaskedCosts: number[];
  personAlone: { cost: number; cpuSeconds: number };
  personAtDrop: { cost: number; cpuSeconds: number };
};

type Target = { apiUrl: string; saleId: number; secret: string };
type Api = { apiUrl: string; adminToken: string; secret: string };

async function createSale(api: Api, sku: string, startsAt: Date): Promise<number> {
  const response = await fetch(`${api.apiUrl}/admin/sales`, {
    method: 'POST',
    headers: { authorization: `Bearer ${api.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ sku, name: sku, stock: 100_000, proofOfWork: true, startsAt }),
  });
  if (response.status !== 201) throw new Error(`create sale ${sku}: ${response.status}`);
  return ((await response.json()) as { id: number }).id;
}

const cpuSince = (before: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1e6;
};

// A keep-alive connection the API closed as it was reused (idle past its timeout while this
// process solved) fails the request: it is sent once more, on a new one.
const fetchOnce = (url: string, init: RequestInit) =>
  fetch(url, init).catch(() => fetch(url, init));

async function ask(t: Target, buyer: string, address: string): Promise<Challenge> {
  const response = await fetchOnce(`${t.apiUrl}/sales/${t.saleId}/challenge`, {
    headers: {
      authorization: `Bearer ${signBuyerToken(buyer, t.secret)}`,
      'x-forwarded-for': address,
    },
  });
  if (response.status !== 200) throw new Error(`challenge for ${buyer}: ${response.status}`);
  return (await response.json()) as Challenge;
}

// The answer's status, and its error code when it has one ("403 CHALLENGE_FAILED").
async function buy(t: Target, buyer: string, altcha: string): Promise<string> {
  const response = await fetchOnce(`${t.apiUrl}/sales/${t.saleId}/purchase`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${signBuyerToken(buyer, t.secret)}`,
      'content-type': 'application/json',
      'x-altcha': altcha,
    },
    body: '{"quantity":1}',
  });
  const body = (await response.json().catch(() => null)) as { error?: { code: string } } | null;
  return body?.error ? `${response.status} ${body.error.code}` : String(response.status);
}

// Answers that spent nothing: shed by admission, or the drop not open yet on the gate's clock.
const tryAgain = (status: string) =>
  status === '503 UNAVAILABLE' || status === '403 SALE_NOT_STARTED';

// A person: a challenge asked and solved on this thread (the CPU measured), bought with once
// `opensAt` has passed. One solve's counter is drawn at random, so a person's figure is the
// mean of `samples` of them (each its own buyer).
async function person(t: Target, name: string, opensAt: number, samples = 5) {
  let cpuSeconds = 0;
  let cost = 0;
  const solved: [string, string][] = [];
  for (let i = 0; i < samples; i++) {
    const challenge = await ask(t, `${name}-${i}`, `198.51.100.${i + 1}`);
    const before = process.cpuUsage();
    solved.push([`${name}-${i}`, solveOnCore(challenge)]);
    cpuSeconds += cpuSince(before);
    cost = challenge.parameters.cost;
  }
  return {
    cost,
    cpuSeconds: round(cpuSeconds / samples),
    buy: async () => {
      await sleepUntil(opensAt);
      for (const [buyer, altcha] of solved) {
        let status = await buy(t, buyer, altcha);
        // Shed at the opening's burst, as a browser would be: it tries again.
        for (let i = 0; tryAgain(status) && i < 50; i++) {
          await sleep(100);
          status = await buy(t, buyer, altcha);
        }
        if (status !== '202') throw new Error(`${buyer}'s purchase: ${status}`);
      }
    },
  };
}

// The bot solver in a worker thread, as plain JavaScript (no loader needed).
const workerSource = `
const { parentPort } = require('node:worker_threads');
const { pbkdf2Sync } = require('node:crypto');
parentPort.on('message', ({ index, challenge }) => {
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
      parentPort.postMessage({ index, altcha: Buffer.from(JSON.stringify({ challenge, solution })).toString('base64') });
      return;
    }
  }
});`;

const round = (n: number) => Math.round(n * 1000) / 1000;

const sleepUntil = (at: number) => sleep(Math.max(0, at - Date.now()));

// The farm's cores at work: every solution is bought with from the opening on; a refused one
// (its challenge expired before the farm got to it) is asked for again and solved again.
async function farmSolves(
  t: Target,
  challenges: Challenge[],
  places: number,
  opensAt: number,
  addressOf: (i: number) => string,
): Promise<{ tried: number; reasked: number[] }> {
  const workers = Array.from(
    { length: Math.max(1, availableParallelism()) },
    () => new Worker(workerSource, { eval: true }),
  );
  const queue = challenges.map((challenge, index) => ({ index, challenge }));
  let accepted = 0;
  let tried = 0;
  // Solves handed out and not yet bought or refused: never more than the places still to take.
  let pending = 0;
  const reasked: number[] = [];
  const idle = new Set(workers);
  const statuses: Record<string, number> = {};
  const progress = setInterval(() => {
    process.stdout.write(
      `[trust]   ... ${accepted} places, ${tried} solves, ${reasked.length} asked again, answers ${JSON.stringify(statuses)}\n`,
    );
  }, 15_000);
  const renew = async (index: number) => {
    const challenge = await ask(t, `bot-${index}`, addressOf(index));
    reasked.push(challenge.parameters.cost);
    queue.unshift({ index, challenge });
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const handOut = () => {
        for (const worker of idle) {
          if (pending >= places - accepted) return;
          let next = queue.shift();
          // A challenge about to expire is not worth solving: a new one for that bot.
          while (next && next.challenge.parameters.expiresAt! * 1000 < Date.now() + 5_000) {
            renew(next.index).then(handOut, reject);
            next = queue.shift();
          }
          if (!next) return;
          pending++;
          idle.delete(worker);
          worker.postMessage(next);
        }
      };
      const sell = async (index: number, altcha: string) => {
        await sleepUntil(opensAt);
        let status = '503 UNAVAILABLE';
        // Shed at the opening's burst, or early by the gate's clock: the same solution again.
        while (tryAgain(status)) {
          status = await buy(t, `bot-${index}`, altcha);
          statuses[status] = (statuses[status] ?? 0) + 1;
          if (tryAgain(status)) await sleep(100);
        }
        pending--;
        if (status === '202' && ++accepted === places) return resolve();
        // Refused (expired, or spent on a 429): a new challenge for this bot.
        if (status !== '202') await renew(index);
        handOut();
      };
      for (const worker of workers) {
        worker.on('message', ({ index, altcha }: { index: number; altcha: string }) => {
          tried++;
          idle.add(worker);
          sell(index, altcha).catch(reject);
          handOut();
        });
        worker.on('error', reject);
      }
      handOut();
    });
  } finally {
    clearInterval(progress);
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return { tried, reasked };
}

// `leadMs`: how long before the drop opens the farm asks (and may start solving): a farm
// solves ahead of the opening what it can within its challenges' life.
export async function farmAgainstPerson(
  api: Api,
  clients: number,
  places: number,
  leadMs: number,
): Promise<FarmResult> {
  const quiet = await createSale(api, 'trust-quiet', new Date());
  const alone = await person({ ...api, saleId: quiet }, 'person-alone', Date.now());
  await alone.buy();
  const opensAt = Date.now() + leadMs;
  const t = { ...api, saleId: await createSale(api, 'trust-drop', new Date(opensAt)) };
  // The farm arrives: every client asks at once (a hundred requests in flight at a time).
  const challenges: Challenge[] = new Array(clients);
  let next = 0;
  const addressOf = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  await Promise.all(
    Array.from({ length: 100 }, async () => {
      while (next < clients) {
        const i = next++;
        challenges[i] = await ask(t, `bot-${i}`, addressOf(i));
      }
    }),
  );
  // The person at the drop asks before it opens too, and solves at once, on this thread.
  const atDrop = await person(t, 'person-drop', opensAt);
  // Bought at the opening, beside the farm (a few requests: nothing next to the farm's CPU).
  const personBought = atDrop.buy();
  const costs = challenges.map((c) => c.parameters.cost).sort((a, b) => a - b);
  const before = process.cpuUsage();
  const started = performance.now();
  const { tried, reasked } = await farmSolves(t, challenges, places, opensAt, addressOf);
  const farmCpuSeconds = cpuSince(before);
  const farmWallSeconds = (performance.now() - started) / 1000;
  await personBought;
  return {
    clients,
    places,
    farmCpuSeconds: round(farmCpuSeconds),
    farmWallSeconds: round(farmWallSeconds),
    farmCosts: {
      min: costs[0]!,
      median: costs[Math.floor(costs.length / 2)]!,
      max: costs.at(-1)!,
    },
    solvesTried: tried,
    reasked: reasked.length,
    reaskedCosts: reasked,
    personAlone: { cost: alone.cost, cpuSeconds: alone.cpuSeconds },
    personAtDrop: { cost: atDrop.cost, cpuSeconds: atDrop.cpuSeconds },
  };
}
