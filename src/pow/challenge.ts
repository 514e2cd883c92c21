import { createHmac } from 'node:crypto';
import { createChallenge, randomInt, verifySolution, type Challenge } from 'altcha-lib';
import { deriveKey } from 'altcha-lib/algorithms/pbkdf2';

// ALTCHA v2 with PBKDF2: browsers run it natively (WebCrypto), so a person's browser pays about
// what a bot's core pays for the same challenge (bench/trust.ts measures both).
export const powAlgorithm = 'PBKDF2/SHA-256';

export type ChallengeSecrets = { signature: string; keySignature: string };

// Two secrets from POW_SECRET, as ALTCHA asks: one signs the challenge, one the derived key.
export function challengeSecrets(secret: string): ChallengeSecrets {
  const derive = (purpose: string) => createHmac('sha256', secret).update(purpose).digest('hex');
  return {
    signature: derive('flashline pow challenge'),
    keySignature: derive('flashline pow key'),
  };
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

// A challenge for one buyer and one sale, bound to both through its signed `data`. Deterministic
// mode: the server derives the key of a random counter once, here, and signs it, so checking a
// solution is two HMACs however much work it took (ALTCHA's fast path).
export async function createSaleChallenge(
  secrets: ChallengeSecrets,
  request: ChallengeRequest,
): Promise<Challenge> {
  const { buyer, saleId, cost, attempts, lifetimeSeconds, nowMs = Date.now() } = request;
  return createChallenge({
    algorithm: powAlgorithm,
    cost,
    // Uniform around `attempts`, never near zero: the solver searches from 0 up to it.
    counter: randomInt(Math.floor((3 * attempts) / 2), Math.ceil(attempts / 2)),
    deriveKey,
    data: { buyer, sale: saleId },
    expiresAt: Math.floor(nowMs / 1000) + lifetimeSeconds,
    hmacSignatureSecret: secrets.signature,
    hmacKeySignatureSecret: secrets.keySignature,
  });
}

export type SolutionCheck =
  | { kind: 'missing' }
  | { kind: 'failed'; reason: FailureReason }
  | { kind: 'solved'; nonce: string; expiresAt: number };

export type FailureReason = 'unreadable' | 'expired' | 'other_buyer' | 'other_sale' | 'wrong';

// An X-Altcha value is a few hundred bytes; anything far larger is not one.
const maxHeaderLength = 4096;
const base64 = /^[A-Za-z0-9+/]+={0,2}$/;
const hex32 = /^[0-9a-f]{32}$/;

type Payload = Parameters<typeof verifySolution>[0] & { challenge: Challenge };

// The header's payload, or null unless it has exactly the shape this server issues: a signed
// PBKDF2 challenge with a key signature (so the check below never derives a key), a buyer and
// a sale in its data, an expiry, and a solution.
function readPayload(header: string): Payload | null {
  if (header.length > maxHeaderLength || !base64.test(header)) return null;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(header, 'base64').toString('utf8'));
  } catch {
    return null;
  }
  const payload = value as { challenge?: Challenge; solution?: Payload['solution'] } | null;
  const p = payload?.challenge?.parameters;
  const solution = payload?.solution;
  if (!p || typeof p !== 'object' || !solution || typeof solution !== 'object') return null;
  if (p.algorithm !== powAlgorithm || typeof p.keySignature !== 'string') return null;
  if (typeof p.nonce !== 'string' || !hex32.test(p.nonce)) return null;
  if (typeof p.expiresAt !== 'number' || typeof payload.challenge?.signature !== 'string')
    return null;
  if (!p.data || typeof p.data !== 'object') return null;
  return payload as Payload;
}

// Checks an X-Altcha header for this buyer and sale: the signature, the expiry, the binding and
// the work. Whether it was used before is the caller's (./spent-solutions.ts).
export async function checkSolution(
  secrets: ChallengeSecrets,
  header: string | undefined,
  buyer: string,
  saleId: number,
): Promise<SolutionCheck> {
  if (header === undefined || header === '') return { kind: 'missing' };
  const payload = readPayload(header);
  if (!payload) return { kind: 'failed', reason: 'unreadable' };
  const result = await verifySolution({
    challenge: payload.challenge,
    solution: payload.solution,
    deriveKey,
    hmacSignatureSecret: secrets.signature,
    hmacKeySignatureSecret: secrets.keySignature,
  }).catch(() => null);
  if (!result) return { kind: 'failed', reason: 'unreadable' };
  if (result.expired) return { kind: 'failed', reason: 'expired' };
  if (!result.verified) return { kind: 'failed', reason: 'wrong' };
  // Read only now that the signature vouches for them.
  const { data, nonce, expiresAt } = payload.challenge.parameters;
  if (data?.buyer !== buyer) return { kind: 'failed', reason: 'other_buyer' };
  if (data.sale !== saleId) return { kind: 'failed', reason: 'other_sale' };
  return { kind: 'solved', nonce, expiresAt: expiresAt! };
}
