import { Hono, type Context } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { ApiDeps } from '../deps.js';
import { ApiError } from '../api-error.js';
import { authenticateBuyer } from '../middleware/auth.js';
import { parseSaleId, rejectQuery } from '../validation.js';
import { saleWork } from '../proof-of-work-check.js';
import { addressBucket } from '../client-address.js';

const noProofOfWork = new ApiError(409, 'NO_PROOF_OF_WORK', 'this sale asks for no proof of work');

// The socket's peer; none for a request made in-process (app.request in a test).
function peerOf(c: Context): string | undefined {
  try {
    return getConnInfo(c).remote.address;
  } catch {
    return undefined;
  }
}

// GET /sales/:saleId/challenge (API.md, Proof of work): an ALTCHA challenge for this buyer and
// sale, as JSON the altcha widget (or src/pow/browser-solver.ts) solves. 401, then 400, then
// 404 for no such sale, 409 for a sale without proof of work, 429 past the buyer's or the
// client address's limit.
export function challengeRoutes(deps: ApiDeps) {
  return new Hono().get('/:saleId/challenge', async (c) => {
    const buyer = await authenticateBuyer(c.req.header('authorization'), deps.buyers);
    const saleId = parseSaleId(c.req.param('saleId'));
    rejectQuery(c.req.query());
    const work = await saleWork(deps, saleId);
    if (!work.asks) throw noProofOfWork;
    const address = deps.clientAddresses.of(peerOf(c), c.req.header('x-forwarded-for'));
    const outcome = await deps.proofOfWork.issue(
      saleId,
      buyer,
      address === null ? null : addressBucket(address),
      work.startsAtMs,
    );
    if (outcome.kind === 'limited') {
      throw new ApiError(429, 'RATE_LIMITED', 'too many challenges asked', {
        'retry-after': String(outcome.retryAfterSeconds),
      });
    }
    // Each challenge is one buyer's, once: no cache may keep or share it.
    c.header('cache-control', 'private, no-store');
    return c.json(outcome.challenge);
  });
}
