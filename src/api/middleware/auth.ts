import { createMiddleware } from 'hono/factory';
import { ApiError } from '../api-error.js';
import type { BuyerVerifier } from '../../auth/buyer-verifier.js';
import { isAdminAuthorization } from '../../auth/admin.js';
import { parseAuthorization } from '../../auth/credentials.js';

export type BuyerEnv = { Variables: { buyer: string } };

const unauthorized = () => new ApiError(401, 'UNAUTHORIZED', 'missing or invalid credentials');

// The buyer a request's bearer token names; 401 without a valid one. A plain value when the
// verifier answers synchronously (HS256 always): the purchase path awaits nothing for it.
export function authenticateBuyer(
  authorization: string | undefined,
  buyers: BuyerVerifier,
): string | Promise<string> {
  const credentials = parseAuthorization(authorization);
  if (credentials?.scheme !== 'bearer') throw unauthorized();
  const buyer = buyers.verify(credentials.value);
  if (typeof buyer === 'string') return buyer;
  if (buyer === null) throw unauthorized();
  return buyer.then((verified) => verified ?? Promise.reject(unauthorized()));
}

export function requireBuyer(buyers: BuyerVerifier) {
  return createMiddleware<BuyerEnv>(async (c, next) => {
    c.set('buyer', await authenticateBuyer(c.req.header('authorization'), buyers));
    await next();
  });
}

export function requireAdmin(adminToken: string) {
  return createMiddleware(async (c, next) => {
    if (!isAdminAuthorization(c.req.header('authorization'), adminToken)) {
      // Lets a browser ask for the basic-auth login bull-board accepts.
      throw new ApiError(401, 'UNAUTHORIZED', 'admin credentials required', {
        'www-authenticate': 'Basic realm="flashline admin"',
      });
    }
    await next();
  });
}
