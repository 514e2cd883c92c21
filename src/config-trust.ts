import { isIP } from 'node:net';
import { z } from 'zod';

// The settings of who a buyer is and what an attempt costs (API.md, "Buyer identity from an
// identity provider" and "Proof of work"; docs/security.md), read by src/config.ts.

const int = (fallback: number, min = 0) => z.coerce.number().int().min(min).default(fallback);
const unsetWhenEmpty = <T extends z.ZodType>(inner: T) =>
  z.preprocess((value) => (value === '' ? undefined : value), inner.optional());

// Signature algorithms an identity provider's key set may use: asymmetric only (a shared
// secret is JWT_SECRET's business, and "none" is never one).
export const identityAlgorithms = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
] as const;
export type IdentityAlgorithm = (typeof identityAlgorithms)[number];
const defaultAlgorithms: IdentityAlgorithm[] = ['RS256', 'ES256', 'EdDSA'];

function isCidr(entry: string): boolean {
  const [address = '', bits, extra] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

const list = (text: string) => text.split(',').map((entry) => entry.trim());

export const trustFields = {
  // Unset: 'flashline-dev-secret', unless JWT_JWKS_URL names an identity provider.
  JWT_SECRET: unsetWhenEmpty(z.string().min(8)),
  // Buyer tokens from an identity provider, verified against its key set instead of JWT_SECRET.
  JWT_JWKS_URL: unsetWhenEmpty(z.string().url()),
  JWT_ISSUER: unsetWhenEmpty(z.string().min(1)),
  // One audience, or several separated by commas: a token naming any of them is accepted.
  JWT_AUDIENCE: unsetWhenEmpty(z.string().min(1).transform(list)),
  JWT_ALGORITHMS: unsetWhenEmpty(
    z
      .string()
      .transform(list)
      .pipe(z.array(z.enum(identityAlgorithms)).min(1)),
  ),
  // A token with a kid the cached key set lacks fetches the set again at most this often.
  JWT_JWKS_COOLDOWN_SECONDS: int(30, 1),
  // The key set is fetched again in the background once it is this old...
  JWT_JWKS_MAX_AGE_SECONDS: int(600, 1),
  // ...and, while the provider cannot be reached, its last copy is trusted this long.
  JWT_JWKS_MAX_STALE_SECONDS: int(24 * 3600, 1),
  JWT_JWKS_TIMEOUT_MS: int(5_000, 100),
  // Slack granted to exp and nbf for the provider's clock against ours.
  JWT_CLOCK_TOLERANCE_SECONDS: int(30).pipe(z.number().max(300)),
  // Signs proof-of-work challenges. The default is for development only.
  POW_SECRET: z.string().min(16).default('flashline-dev-proof-of-work'),
  POW_CHALLENGE_SECONDS: int(120, 10).pipe(z.number().max(3600)),
  // PBKDF2 iterations per attempt (ALTCHA's cost), from a quiet sale to a crowded one...
  POW_MIN_COST: int(50, 1),
  POW_MAX_COST: int(500, 1),
  // ...and the attempts a solution takes on average: a challenge costs its solver about
  // POW_ATTEMPTS x cost iterations, and the server one derivation of `cost` to issue it.
  POW_ATTEMPTS: int(8000, 2),
  // Challenges issued per second for one sale, over every API process, at which the cost
  // reaches POW_MAX_COST; from none up to it the cost rises in a straight line.
  POW_CROWD_RATE: int(500, 1),
  // Challenges one buyer, and one client address, may ask of one sale per window (0: no
  // limit). The address limit is generous: a campus or a carrier shares one address.
  CHALLENGE_BUYER_LIMIT: int(20),
  CHALLENGE_ADDRESS_LIMIT: int(1000),
  CHALLENGE_LIMIT_WINDOW_SECONDS: int(10, 1),
  // Proxies whose X-Forwarded-For names the client (CIDRs, comma-separated); without them
  // the client is the socket's peer.
  TRUSTED_PROXIES: unsetWhenEmpty(
    z
      .string()
      .transform(list)
      .pipe(z.array(z.string().refine(isCidr, 'a list of CIDRs'))),
  ),
};

type TrustEnv = z.output<z.ZodObject<typeof trustFields>> & { NODE_ENV: string };

export function checkTrust(e: TrustEnv, ctx: z.RefinementCtx): void {
  const problem = (path: string, message: string) =>
    ctx.addIssue({ code: 'custom', path: [path], message });
  if (e.JWT_SECRET && e.JWT_JWKS_URL)
    problem('JWT_SECRET', 'set JWT_SECRET or JWT_JWKS_URL, not both');
  // Settings only the identity provider's tokens honour: without it they would be ignored.
  if (!e.JWT_JWKS_URL && (e.JWT_ISSUER || e.JWT_AUDIENCE || e.JWT_ALGORITHMS))
    problem('JWT_JWKS_URL', 'JWT_ISSUER, JWT_AUDIENCE and JWT_ALGORITHMS need JWT_JWKS_URL');
  // Keys fetched over plain HTTP could be swapped on the way.
  if (e.NODE_ENV === 'production' && e.JWT_JWKS_URL && !e.JWT_JWKS_URL.startsWith('https:'))
    problem('JWT_JWKS_URL', 'JWT_JWKS_URL must be https in production');
  if (e.POW_MIN_COST > e.POW_MAX_COST) problem('POW_MIN_COST', 'need POW_MIN_COST <= POW_MAX_COST');
}

export function trustSettings(e: TrustEnv) {
  return {
    jwtSecret: e.JWT_SECRET ?? 'flashline-dev-secret',
    identityProvider: e.JWT_JWKS_URL
      ? {
          jwksUrl: e.JWT_JWKS_URL,
          issuer: e.JWT_ISSUER ?? null,
          audience: e.JWT_AUDIENCE ?? null,
          algorithms: e.JWT_ALGORITHMS ?? defaultAlgorithms,
          cooldownMs: e.JWT_JWKS_COOLDOWN_SECONDS * 1000,
          maxAgeMs: e.JWT_JWKS_MAX_AGE_SECONDS * 1000,
          maxStaleMs: e.JWT_JWKS_MAX_STALE_SECONDS * 1000,
          timeoutMs: e.JWT_JWKS_TIMEOUT_MS,
          clockToleranceSeconds: e.JWT_CLOCK_TOLERANCE_SECONDS,
        }
      : null,
    proofOfWork: {
      secret: e.POW_SECRET,
      challengeSeconds: e.POW_CHALLENGE_SECONDS,
      minCost: e.POW_MIN_COST,
      maxCost: e.POW_MAX_COST,
      attempts: e.POW_ATTEMPTS,
      crowdRate: e.POW_CROWD_RATE,
    },
    challengeLimits: {
      perBuyer: e.CHALLENGE_BUYER_LIMIT,
      perAddress: e.CHALLENGE_ADDRESS_LIMIT,
      windowSeconds: e.CHALLENGE_LIMIT_WINDOW_SECONDS,
    },
    trustedProxies: e.TRUSTED_PROXIES ?? [],
  };
}

export type IdentityProviderConfig = NonNullable<
  ReturnType<typeof trustSettings>['identityProvider']
>;
export type ProofOfWorkConfig = ReturnType<typeof trustSettings>['proofOfWork'];
