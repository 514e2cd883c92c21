import { createHmac, pbkdf2, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import type { Challenge } from 'altcha-lib';

const pbkdf2Async = promisify(pbkdf2);

// ALTCHA v2 with PBKDF2: browsers run it natively (WebCrypto), so a person's browser pays about
// what a bot's core pays for the same challenge (bench/trust.ts measures both).
export const powAlgorithm = 'PBKDF2/SHA-256';
const keyLength = 32;
// Deterministic mode's prefix: half the key, so only the counter's own key matches it.
const prefixLength = keyLength / 2;

export type ChallengeSecrets = { signature: string; keySignature: string };

// Two secrets from POW_SECRET, as ALTCHA asks: one signs the challenge, one the derived key.
export function challengeSecrets(secret: string): ChallengeSecrets {
  const derive = (purpose: string) => createHmac('sha256', secret).update(purpose).digest('hex');
  return {
    signature: derive('flashline pow challenge'),
    keySignature: derive('flashline pow key'),
  };
}

// ALTCHA's signature of the parameters: HMAC-SHA-256 of their JSON with keys sorted at every
// level and undefined values left out (altcha-lib's canonicalJSON).
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

export function hmacEquals(secret: string, data: string | Buffer, expectedHex: string): boolean {
  const actual = createHmac('sha256', secret).update(data).digest();
  const expected = Buffer.from(expectedHex, 'hex');
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

export type ChallengeRequest = {
  buyer: string;
  saleId: number;
  // PBKDF2 iterations per attempt, and the attempts a solution takes on average.
  cost: number;
  attempts: number;
  lifetimeSeconds: number;
  nowMs?: number;
};

// A challenge for one buyer and one sale, bound to both through its signed `data`, in ALTCHA
// v2's deterministic mode: the key of a random counter is derived here, once (the server's
// whole share of the work), its first half published as the prefix to find and the key itself
// signed, so checking a solution is two HMACs however much work it took. altcha-lib's
// createChallenge does the same through WebCrypto at 300 µs more per challenge (bench/trust.ts);
// src/pow/challenge.test.ts holds this one to the library's verifySolution and solveChallenge.
export async function createSaleChallenge(
  secrets: ChallengeSecrets,
  request: ChallengeRequest,
): Promise<Challenge> {
  const { buyer, saleId, cost, attempts, lifetimeSeconds, nowMs = Date.now() } = request;
  const nonce = randomBytes(16);
  const salt = randomBytes(16);
  // Uniform around `attempts`, never near zero: the solver searches from 0 up to it.
  const counter = randomInt(Math.ceil(attempts / 2), Math.floor((3 * attempts) / 2) + 1);
  const password = Buffer.alloc(nonce.length + 4);
  nonce.copy(password);
  password.writeUInt32BE(counter, nonce.length);
  // On libuv's threads: the event loop answers purchases meanwhile.
  const key = await pbkdf2Async(password, salt, cost, keyLength, 'sha256');
  // Keys in sorted order, as ALTCHA signs them.
  const parameters = {
    algorithm: powAlgorithm,
    cost,
    data: { buyer, sale: saleId },
    expiresAt: Math.floor(nowMs / 1000) + lifetimeSeconds,
    keyLength,
    keyPrefix: key.subarray(0, prefixLength).toString('hex'),
    keySignature: createHmac('sha256', secrets.keySignature).update(key).digest('hex'),
    nonce: nonce.toString('hex'),
    salt: salt.toString('hex'),
  };
  const signature = createHmac('sha256', secrets.signature)
    .update(canonicalJson(parameters))
    .digest('hex');
  return { parameters, signature };
}
