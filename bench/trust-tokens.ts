// Buyer-token verification, for bench/trust.ts: HS256 (src/auth/jwt.ts) against an identity
// provider's RS256, ES256 and EdDSA tokens (src/auth/identity-tokens.ts), each verified for the
// first time (distinct tokens) and again (the verified-token cache). The key set is a local one
// (no network): what is measured is the verification, on this process's thread.
import { createLocalJWKSet } from 'jose';
import { makeKey, signWith } from '../test/support/jwks-server.js';
import { Hs256Tokens, signBuyerToken, verifyBuyerToken } from '../src/auth/jwt.js';
import { IdentityTokens } from '../src/auth/identity-tokens.js';

export type TokenMeasure = { name: string; perSecond: number; microsPerToken: number };

const secret = 'bench-secret-0123456789';

// Verifications per second of CPU (user + system of this process) over `tokens`, one after
// another, repeated until about `seconds` of CPU were spent.
async function measure(
  name: string,
  tokens: string[],
  verify: (token: string) => string | null | Promise<string | null>,
  seconds: number,
): Promise<TokenMeasure> {
  const before = process.cpuUsage();
  let done = 0;
  let spent = 0;
  do {
    for (const token of tokens) {
      let buyer = verify(token);
      if (typeof buyer !== 'string') buyer = await buyer;
      if (!buyer) throw new Error(`${name}: a good token was refused`);
    }
    done += tokens.length;
    const used = process.cpuUsage(before);
    spent = (used.user + used.system) / 1e6;
  } while (spent < seconds);
  return { name, perSecond: Math.round(done / spent), microsPerToken: round((spent / done) * 1e6) };
}

const round = (n: number) => Math.round(n * 10) / 10;

export async function tokenMeasures(distinct: number, seconds: number): Promise<TokenMeasure[]> {
  const results: TokenMeasure[] = [];
  const cachedHs256 = new Hs256Tokens(secret, 64 * 2 ** 20);
  const hs256Cached = (t: string) => cachedHs256.verify(t);
  results.push(await measure('HS256 cached', [signBuyerToken('b', secret)], hs256Cached, seconds));
  const hs256 = (t: string) => verifyBuyerToken(t, secret);
  // First time: tokens never seen, one pass over enough of them to fill the CPU time.
  const hs = Array.from({ length: 50 * distinct }, (_, i) => signBuyerToken(`h${i}`, secret));
  results.push(await measure('HS256 first time', hs, hs256, 0));
  for (const alg of ['RS256', 'ES256', 'EdDSA'] as const) {
    const key = await makeKey(alg, `${alg}-bench`);
    const keySet = createLocalJWKSet({ keys: [key.publicJwk] });
    const options = {
      issuer: null,
      audience: null,
      algorithms: [alg],
      clockToleranceSeconds: 30,
      maxAgeMs: 600_000,
      cacheBytes: 64 * 2 ** 20,
    };
    const tokens = await Promise.all(
      Array.from({ length: distinct }, (_, i) =>
        signWith(key, { sub: `b${i}`, exp: 4_000_000_000 }),
      ),
    );
    const cached = new IdentityTokens(keySet, options);
    results.push(await measure(`${alg} cached`, [tokens[0]!], (t) => cached.verify(t), seconds));
    // First time: a verifier with an empty cache for each pass over the tokens.
    let fresh = new IdentityTokens(keySet, options);
    let seen = 0;
    results.push(
      await measure(
        `${alg} first time`,
        tokens,
        (t) => {
          if (seen++ % tokens.length === 0) fresh = new IdentityTokens(keySet, options);
          return fresh.verify(t);
        },
        seconds,
      ),
    );
  }
  return results;
}
