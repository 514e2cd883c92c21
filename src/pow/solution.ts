import type { Challenge, Solution } from 'altcha-lib';
import { canonicalJson, hmacEquals, powAlgorithm, type ChallengeSecrets } from './challenge.js';

export type SolutionCheck =
  | { kind: 'missing' }
  | { kind: 'failed'; reason: FailureReason }
  | { kind: 'solved'; nonce: string; expiresAt: number };

export type FailureReason = 'unreadable' | 'expired' | 'other_buyer' | 'other_sale' | 'wrong';

// An X-Altcha value is a few hundred bytes; anything far larger is not one.
const maxHeaderLength = 4096;
const base64 = /^[A-Za-z0-9+/]+={0,2}$/;
const hex32 = /^[0-9a-f]{32}$/;

type Payload = { challenge: Challenge; solution: Solution };

// The header's payload, or null unless it has exactly the shape this server issues: a signed
// PBKDF2 challenge with a key signature, a buyer and a sale in its data, an expiry, and a
// solution.
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

const keyHex = /^(?:[0-9a-f]{2})+$/;

// Checks an X-Altcha header for this buyer and sale: the expiry, the signature, the work, then
// the binding. Whether it was used before is the caller's (./spent-solutions.ts). This is
// altcha-lib's verifySolution on its key-signature path, written with node:crypto: the
// library's WebCrypto HMACs took 240 µs a check here against 45 (bench/trust.ts), on the
// purchase path. src/pow/challenge.test.ts holds both to the same answers.
export function checkSolution(
  secrets: ChallengeSecrets,
  header: string | undefined,
  buyer: string,
  saleId: number,
  nowMs = Date.now(),
): SolutionCheck {
  if (header === undefined || header === '') return { kind: 'missing' };
  const payload = readPayload(header);
  if (!payload) return { kind: 'failed', reason: 'unreadable' };
  const { parameters, signature } = payload.challenge;
  if (parameters.expiresAt! < nowMs / 1000) return { kind: 'failed', reason: 'expired' };
  if (!hmacEquals(secrets.signature, canonicalJson(parameters), signature!))
    return { kind: 'failed', reason: 'wrong' };
  const { derivedKey, counter } = payload.solution;
  if (typeof derivedKey !== 'string' || !keyHex.test(derivedKey))
    return { kind: 'failed', reason: 'wrong' };
  // The key is the proof; the counter is only checked for being one, as altcha-lib does.
  if (!Number.isInteger(counter) || counter < 0 || counter > 0xffffffff)
    return { kind: 'failed', reason: 'wrong' };
  if (!hmacEquals(secrets.keySignature, Buffer.from(derivedKey, 'hex'), parameters.keySignature!))
    return { kind: 'failed', reason: 'wrong' };
  // Read only now that the signature vouches for them.
  const { data, nonce, expiresAt } = parameters;
  if (data?.buyer !== buyer) return { kind: 'failed', reason: 'other_buyer' };
  if (data.sale !== saleId) return { kind: 'failed', reason: 'other_sale' };
  return { kind: 'solved', nonce, expiresAt: expiresAt! };
}
