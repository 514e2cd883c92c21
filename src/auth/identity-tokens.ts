import { jwtVerify, type JWTVerifyGetKey } from 'jose';
import type { IdentityProviderConfig } from '../config.js';
import { TransientError } from '../errors/transient-error.js';
import { isBuyerSubject } from './jwt.js';
import { verifiedCache } from './verified-cache.js';

type Verified = { sub: string; exp: number | undefined; nbf: number | undefined; atMs: number };

// cacheBytes: what the tokens verified before may hold (./verified-cache.ts).
export type IdentityTokenOptions = Pick<
  IdentityProviderConfig,
  'issuer' | 'audience' | 'algorithms' | 'clockToleranceSeconds' | 'maxAgeMs'
> & { cacheBytes: number };

// Buyer tokens signed by an identity provider: the algorithm pinned, iss and aud checked when
// configured, exp and nbf with a small tolerance, and a `sub` that can be a buyer id.
export class IdentityTokens {
  // Tokens that passed every check but the time, as in ./jwt.ts: a repeat costs a lookup and
  // is answered synchronously, instead of a signature check in WebCrypto (an RSA or ECDSA
  // verification is many times an HMAC: bench/trust.ts). An entry is verified again after
  // maxAgeMs, so a key the provider withdrew stops admitting its tokens within that time.
  // Bounded by bytes (./verified-cache.ts).
  private readonly verified;

  constructor(
    private readonly getKey: JWTVerifyGetKey,
    private readonly options: IdentityTokenOptions,
  ) {
    this.verified = verifiedCache<Verified>(options.cacheBytes, 'jwt', (token, entry) => {
      return token.length + entry.sub.length;
    });
  }

  // The buyer, or null for a token that is not valid; a promise only when the token was not
  // verified before. Throws (a TransientError) while the provider's keys are unavailable.
  verify(token: string, nowMs = Date.now()): string | null | Promise<string | null> {
    const known = this.known(token, nowMs);
    return known !== undefined ? known : this.verifyAnew(token);
  }

  // verify's answer for a token verified less than maxAgeMs ago, else undefined.
  known(token: string, nowMs = Date.now()): string | null | undefined {
    const known = this.verified.get(token);
    if (known && nowMs - known.atMs < this.options.maxAgeMs) return this.withinTime(known, nowMs);
    return undefined;
  }

  private async verifyAnew(token: string): Promise<string | null> {
    let claims;
    try {
      const { issuer, audience, algorithms, clockToleranceSeconds } = this.options;
      ({ payload: claims } = await jwtVerify(token, this.getKey, {
        algorithms,
        clockTolerance: clockToleranceSeconds,
        requiredClaims: ['sub'],
        ...(issuer ? { issuer } : {}),
        ...(audience ? { audience } : {}),
      }));
    } catch (error) {
      if (error instanceof TransientError) throw error;
      return null;
    }
    const { sub, exp, nbf } = claims;
    if (!isBuyerSubject(sub)) return null;
    const entry = { sub, exp, nbf, atMs: Date.now() };
    this.verified.set(token, entry);
    return this.withinTime(entry, entry.atMs);
  }

  // jose's own rule for exp and nbf with the tolerance, for a token verified before.
  private withinTime(entry: Verified, nowMs: number): string | null {
    const now = Math.floor(nowMs / 1000);
    const tolerance = this.options.clockToleranceSeconds;
    if (entry.exp !== undefined && entry.exp <= now - tolerance) return null;
    if (entry.nbf !== undefined && entry.nbf > now + tolerance) return null;
    return entry.sub;
  }
}
