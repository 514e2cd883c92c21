import type { Config } from '../config.js';
import type { Logger } from '../observability/logger.js';
import { Hs256Tokens } from './jwt.js';
import { IdentityKeys } from './identity-keys.js';
import { IdentityTokens } from './identity-tokens.js';

// Who a buyer's bearer token names, or null when it is not valid. Synchronous whenever it can
// be: an HS256 token always (the purchase path's common case stays a plain call), an identity
// provider's token once verified before; a promise only for a provider's token seen first.
export type BuyerVerifier = {
  verify(token: string): string | null | Promise<string | null>;
  // verify's answer for a token verified before (undefined for any other), costing a lookup.
  known(token: string): string | null | undefined;
  // verify's answer when it is one without a wait (HS256's always, a provider's token verified
  // before), else undefined, starting nothing: the join's front door (src/api/join-front.ts)
  // hands those to the app.
  now(token: string): string | null | undefined;
  start(): void;
};

// cacheBytes: what the tokens verified before may hold (config.api.jwtCacheBytes).
export function hs256Buyers(secret: string, cacheBytes: number): BuyerVerifier {
  const tokens = new Hs256Tokens(secret, cacheBytes);
  return {
    verify: (token) => tokens.verify(token),
    known: (token) => tokens.known(token),
    now: (token) => tokens.verify(token),
    start: () => undefined,
  };
}

// JWT_SECRET's HS256 tokens, or, with JWT_JWKS_URL, the identity provider's: never both.
export function buyerVerifier(config: Config, logger: Logger): BuyerVerifier {
  const provider = config.jwt.identityProvider;
  const cacheBytes = config.api.jwtCacheBytes;
  if (!provider) return hs256Buyers(config.jwt.secret, cacheBytes);
  const keys = new IdentityKeys(provider, logger.child({ part: 'identity-keys' }));
  const tokens = new IdentityTokens(keys.getKey, { ...provider, cacheBytes });
  return {
    verify: (token) => tokens.verify(token),
    known: (token) => tokens.known(token),
    now: (token) => tokens.known(token),
    start: () => keys.start(),
  };
}
