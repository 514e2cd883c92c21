import { createMiddleware } from 'hono/factory';
import { ApiError } from '../api-error.js';
import { verifyBuyerToken } from '../../auth/jwt.js';
import { isAdminAuthorization } from '../../auth/admin.js';
import { parseAuthorization } from '../../auth/credentials.js';

export type BuyerEnv = { Variables: { buyer: string } };

const unauthorized = () => new ApiError(401, 'UNAUTHORIZED', 'missing or invalid credentials');

// The buyer a request's bearer token names; 401 without a valid one.
export function authenticateBuyer(authorization: string | undefined, jwtSecret: string): string {
  const credentials = parseAuthorization(authorization);
  const buyer =
    credentials?.scheme === 'bearer' ? verifyBuyerToken(credentials.value, jwtSecret) : null;
  if (!buyer) throw unauthorized();
  return buyer;
}

export function requireBuyer(jwtSecret: string) {
  return createMiddleware<BuyerEnv>(async (c, next) => {
    c.set('buyer', authenticateBuyer(c.req.header('authorization'), jwtSecret));
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
