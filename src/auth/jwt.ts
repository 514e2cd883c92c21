import { createHmac, timingSafeEqual } from 'node:crypto';
import { verifiedCache } from './verified-cache.js';

const maxSubjectLength = 64;
// base64url of a 32-byte HMAC-SHA256, unpadded. Checked as text first: a header may carry
// latin1 bytes, and timingSafeEqual throws on buffers of different lengths.
const signaturePattern = /^[A-Za-z0-9_-]{43}$/;
// Control characters and lone surrogates cannot be stored as PostgreSQL text.
const subjectPattern = /^[^\p{Cc}\p{Cs}]+$/u;

function decodeJson(segment: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return value && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : null;
  } catch {
    return null;
  }
}

// A `sub` that can be a buyer id: a string of 1-64 characters PostgreSQL can store.
export function isBuyerSubject(sub: unknown): sub is string {
  return (
    typeof sub === 'string' &&
    sub.length >= 1 &&
    sub.length <= maxSubjectLength &&
    subjectPattern.test(sub)
  );
}

type Claims = { sub: string; exp: number | undefined; nbf: number | undefined };

function withinTime(claims: Claims, nowSeconds: number): string | null {
  if (claims.exp !== undefined && claims.exp <= nowSeconds) return null;
  if (claims.nbf !== undefined && claims.nbf > nowSeconds) return null;
  return claims.sub;
}

// Verifies a buyer's HS256 token and returns its subject, or null for anything else:
// another algorithm (including "none"), a bad signature, an expired or not-yet-valid token,
// a missing, over-long or unstorable `sub`. The signature is checked before the payload is parsed, so
// a forged token costs one HMAC and nothing more.
export function verifyBuyerToken(
  token: string,
  secret: string,
  nowSeconds = Date.now() / 1000,
): string | null {
  const claims = readClaims(token, secret);
  return claims && withinTime(claims, nowSeconds);
}

// verifyBuyerToken with the tokens that already passed every check that does not depend on
// the time remembered: a flash sale is the same buyers pressing "buy" again and again, and a
// waiting room's crowd polls every few seconds with the same token, so a repeat costs a lookup
// instead of an HMAC and two JSON parses (about a third of a sold-out answer's CPU). The time
// checks (exp, nbf) run on every call. Bounded by bytes (./verified-cache.ts).
export class Hs256Tokens {
  private readonly verified;

  constructor(
    private readonly secret: string,
    cacheBytes: number,
  ) {
    this.verified = verifiedCache<Claims>(cacheBytes, 'jwt', (token, claims) => {
      return token.length + claims.sub.length;
    });
  }

  verify(token: string, nowSeconds = Date.now() / 1000): string | null {
    const known = this.known(token, nowSeconds);
    if (known !== undefined) return known;
    const claims = readClaims(token, this.secret);
    if (!claims) return null;
    this.verified.set(token, claims);
    return withinTime(claims, nowSeconds);
  }

  // What verify would answer for a token it verified before (the time checked as there), or
  // undefined for one it has not: a caller that must not compute an HMAC (the poll's front
  // door, src/api/poll-front.ts) hands the rest to verify.
  known(token: string, nowSeconds = Date.now() / 1000): string | null | undefined {
    const known = this.verified.get(token);
    return known ? withinTime(known, nowSeconds) : undefined;
  }
}

// Every check of verifyBuyerToken but the time.
function readClaims(token: string, secret: string): Claims | null {
  const firstDot = token.indexOf('.');
  const secondDot = token.indexOf('.', firstDot + 1);
  if (firstDot <= 0 || secondDot <= firstDot + 1 || token.indexOf('.', secondDot + 1) !== -1)
    return null;
  const signature = token.slice(secondDot + 1);
  if (!signaturePattern.test(signature)) return null;

  const expected = createHmac('sha256', secret)
    .update(token.slice(0, secondDot))
    .digest('base64url');
  if (!timingSafeEqual(Buffer.from(signature), Buffer.from(expected))) return null;

  const header = decodeJson(token.slice(0, firstDot));
  if (header?.alg !== 'HS256' || (header.typ !== undefined && header.typ !== 'JWT')) return null;
  const payload = decodeJson(token.slice(firstDot + 1, secondDot));
  if (!payload) return null;
  const { sub, exp, nbf } = payload;
  if (!isBuyerSubject(sub)) return null;
  if (exp !== undefined && typeof exp !== 'number') return null;
  if (nbf !== undefined && typeof nbf !== 'number') return null;
  return { sub, exp, nbf };
}

export function signBuyerToken(
  sub: string,
  secret: string,
  ttlSeconds = 24 * 3600,
  nowSeconds = Math.floor(Date.now() / 1000),
): string {
  const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
  const payload = Buffer.from(
    JSON.stringify({ sub, iat: nowSeconds, exp: nowSeconds + ttlSeconds }),
  ).toString('base64url');
  const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}
