import { createMiddleware } from 'hono/factory';
import { ApiError } from '../api-error.js';
import { verifyBuyerToken } from '../../auth/jwt.js';
import { isAdminAuthorization } from '../../auth/admin.js';
import { parseAuthorization } from '../../auth/credentials.js';

export type BuyerEnv = { Variables: { buyer: string } };

const unauthorized = () => new ApiError(401, 'UNAUTHORIZED', 'missing or invalid credentials');

export function requireBuyer(jwtSecret: string) {
  return createMiddleware<BuyerEnv>(async (c, next) => {
    const credentials = parseAuthorization(c.req.header('authorization'));
    const buyer =
      credentials?.scheme === 'bearer' ? verifyBuyerToken(credentials.value, jwtSecret) : null;
    if (!buyer) throw unauthorized();
    c.set('buyer', buyer);
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
