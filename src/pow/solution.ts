import type { Solution } from 'altcha-lib';
import { hmacEquals, powAlgorithm, type ChallengeSecrets } from './challenge.js';

export type SolutionCheck =
  | { kind: 'missing' }
  | { kind: 'failed'; reason: FailureReason }
  | { kind: 'solved'; nonce: string; expiresAt: number };

export type FailureReason = 'unreadable' | 'expired' | 'other_buyer' | 'other_sale' | 'wrong';

// An X-Altcha value is a few hundred bytes; anything far larger is not one.
const maxHeaderLength = 4096;
const hex32 = /^[0-9a-f]{32}$/;

// The parameters this server signs, exactly (./challenge.ts), with their types.
type Signed = {
  algorithm: string;
  cost: number;
  data: { buyer: string; sale: number };
  expiresAt: number;
  keyLength: number;
  keyPrefix: string;
  keySignature: string;
  nonce: string;
  salt: string;
};
type Payload = { parameters: Signed; signature: string; solution: Solution };

const signedKeys = 'algorithm,cost,data,expiresAt,keyLength,keyPrefix,keySignature,nonce,salt';
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

// The header's payload, or null unless it has exactly the shape this server issues: the
// parameters it signs and no others, each of its type, a signature, and a solution. (Base64
// that is not is decoded into bytes JSON.parse refuses.)
function readPayload(header: string): Payload | null {
  if (header.length > maxHeaderLength) return null;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(header, 'base64').toString('utf8'));
  } catch {
    return null;
  }
  if (!isObject(value) || !isObject(value.challenge) || !isObject(value.solution)) return null;
  const { parameters: p, signature } = value.challenge;
  if (!isObject(p) || typeof signature !== 'string') return null;
  if (Object.keys(p).sort().join(',') !== signedKeys || p.algorithm !== powAlgorithm) return null;
  const strings = [p.keyPrefix, p.keySignature, p.nonce, p.salt];
  if (strings.some((v) => typeof v !== 'string') || !hex32.test(p.nonce as string)) return null;
  const numbers = [p.cost, p.expiresAt, p.keyLength];
  if (numbers.some((v) => typeof v !== 'number')) return null;
  const data = p.data;
  if (!isObject(data) || Object.keys(data).sort().join(',') !== 'buyer,sale') return null;
  if (typeof data.buyer !== 'string' || typeof data.sale !== 'number') return null;
  return { parameters: p as Signed, signature, solution: value.solution as unknown as Solution };
}

// The JSON ALTCHA signs (keys sorted), written out for the one shape accepted: a generic
// sorted stringify was a third of a check's time.
function signedText(p: Signed): string {
  const s = JSON.stringify;
  return (
    `{"algorithm":${s(p.algorithm)},"cost":${s(p.cost)},` +
    `"data":{"buyer":${s(p.data.buyer)},"sale":${s(p.data.sale)}},` +
    `"expiresAt":${s(p.expiresAt)},"keyLength":${s(p.keyLength)},` +
    `"keyPrefix":${s(p.keyPrefix)},"keySignature":${s(p.keySignature)},` +
    `"nonce":${s(p.nonce)},"salt":${s(p.salt)}}`
  );
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
  const { parameters, signature } = payload;
  if (parameters.expiresAt < nowMs / 1000) return { kind: 'failed', reason: 'expired' };
  if (!hmacEquals(secrets.signature, signedText(parameters), signature))
    return { kind: 'failed', reason: 'wrong' };
  const { derivedKey, counter } = payload.solution;
  if (typeof derivedKey !== 'string' || !keyHex.test(derivedKey))
    return { kind: 'failed', reason: 'wrong' };
  // The key is the proof; the counter is only checked for being one, as altcha-lib does.
  if (!Number.isInteger(counter) || counter < 0 || counter > 0xffffffff)
    return { kind: 'failed', reason: 'wrong' };
  if (!hmacEquals(secrets.keySignature, Buffer.from(derivedKey, 'hex'), parameters.keySignature))
    return { kind: 'failed', reason: 'wrong' };
  // Read only now that the signature vouches for them.
  const { data, nonce, expiresAt } = parameters;
  if (data.buyer !== buyer) return { kind: 'failed', reason: 'other_buyer' };
  if (data.sale !== saleId) return { kind: 'failed', reason: 'other_sale' };
  return { kind: 'solved', nonce, expiresAt };
}
