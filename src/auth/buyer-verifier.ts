import type { Config } from '../config.js';
import type { Logger } from '../observability/logger.js';
import { knownBuyerToken, verifyBuyerToken } from './jwt.js';
import { IdentityKeys } from './identity-keys.js';
import { IdentityTokens } from './identity-tokens.js';

// Who a buyer's bearer token names, or null when it is not valid. Synchronous whenever it can
// be: an HS256 token always (the purchase path's common case stays a plain call), an identity
// provider's token once verified before; a promise only for a provider's token seen first.
export type BuyerVerifier = {
  verify(token: string): string | null | Promise<string | null>;
  // verify's answer for a token verified before (undefined for any other), costing a lookup.
  known(token: string): string | null | undefined;
  start(): void;
};

export function hs256Buyers(secret: string): BuyerVerifier {
  return {
    verify: (token) => verifyBuyerToken(token, secret),
    known: (token) => knownBuyerToken(token, secret),
    start: () => undefined,
  };
}

// JWT_SECRET's HS256 tokens, or, with JWT_JWKS_URL, the identity provider's: never both.
export function buyerVerifier(config: Config, logger: Logger): BuyerVerifier {
  const provider = config.jwt.identityProvider;
  if (!provider) return hs256Buyers(config.jwt.secret);
  const keys = new IdentityKeys(provider, logger.child({ part: 'identity-keys' }));
  const tokens = new IdentityTokens(keys.getKey, provider);
  return {
    verify: (token) => tokens.verify(token),
    known: (token) => tokens.known(token),
    start: () => keys.start(),
  };
}
