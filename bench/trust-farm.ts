// What a bot farm pays against what one person pays, for bench/trust.ts, on the running API
// with the default costs. The farm's clients each arrive from an address of their own (through
// a trusted proxy: TRUSTED_PROXIES=127.0.0.1), all in the same moment, ask for a challenge each
// (their crowd sets the cost), then solve them on every core the farm has (worker threads, the
// bot solver of ./trust-work.ts) and buy with each solution, until `places` purchases are
// accepted. A person asks for one challenge and solves it once: alone, and in the farm's crowd.
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
  personAlone: { cost: number; cpuSeconds: number };
  personInCrowd: { cost: number; cpuSeconds: number };
};

type Target = { apiUrl: string; saleId: number; secret: string };

const cpuSince = (before: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1e6;
};

async function ask(t: Target, buyer: string, address: string): Promise<Challenge> {
  const response = await fetch(`${t.apiUrl}/sales/${t.saleId}/challenge`, {
    headers: {
      authorization: `Bearer ${signBuyerToken(buyer, t.secret)}`,
      'x-forwarded-for': address,
    },
  });
  if (response.status !== 200) throw new Error(`challenge for ${buyer}: ${response.status}`);
  return (await response.json()) as Challenge;
}

async function buy(t: Target, buyer: string, altcha: string): Promise<number> {
  const response = await fetch(`${t.apiUrl}/sales/${t.saleId}/purchase`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${signBuyerToken(buyer, t.secret)}`,
      'content-type': 'application/json',
      'x-altcha': altcha,
    },
    body: '{"quantity":1}',
  });
  await response.arrayBuffer();
  return response.status;
}

// One person: a challenge, solved on this thread (its CPU measured), then the purchase.
async function person(t: Target, buyer: string, address: string) {
  const challenge = await ask(t, buyer, address);
  const before = process.cpuUsage();
  const altcha = solveOnCore(challenge);
  const cpuSeconds = cpuSince(before);
  const status = await buy(t, buyer, altcha);
  if (status !== 202) throw new Error(`the person's purchase: ${status}`);
  return { cost: challenge.parameters.cost, cpuSeconds: round(cpuSeconds) };
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

export async function farmAgainstPerson(
  t: Target,
  clients: number,
  places: number,
): Promise<FarmResult> {
  const personAlone = await person(t, 'person-alone', '198.51.100.1');
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
  const personInCrowd = await person(t, 'person-crowd', '198.51.100.2');
  const costs = challenges.map((c) => c.parameters.cost).sort((a, b) => a - b);

  const cores = Math.max(1, availableParallelism());
  const workers = Array.from({ length: cores }, () => new Worker(workerSource, { eval: true }));
  const before = process.cpuUsage();
  const started = performance.now();
  let accepted = 0;
  let tried = 0;
  let handedOut = 0;
  await new Promise<void>((resolve, reject) => {
    const handOut = (worker: Worker) => {
      if (handedOut >= clients) return;
      const index = handedOut++;
      worker.postMessage({ index, challenge: challenges[index] });
    };
    for (const worker of workers) {
      worker.on('message', ({ index, altcha }: { index: number; altcha: string }) => {
        tried++;
        if (accepted < places) handOut(worker);
        buy(t, `bot-${index}`, altcha).then((status) => {
          if (status === 202 && ++accepted === places) resolve();
        }, reject);
      });
      worker.on('error', reject);
      handOut(worker);
    }
  });
  const farmCpuSeconds = cpuSince(before);
  const farmWallSeconds = (performance.now() - started) / 1000;
  await Promise.all(workers.map((w) => w.terminate()));
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
    personAlone,
    personInCrowd,
  };
}
