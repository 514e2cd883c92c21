import type { ApiDeps } from './deps.js';
import { ApiError, unavailable } from './api-error.js';
import type { PowVerdict } from '../pow/proof-of-work.js';
import type { SaleWork } from './proof-of-work-sales.js';

const challengeRequired = new ApiError(
  403,
  'CHALLENGE_REQUIRED',
  'this sale asks for a solved challenge in the X-Altcha header (GET /sales/:saleId/challenge)',
);
const challengeFailed = new ApiError(
  403,
  'CHALLENGE_FAILED',
  'the X-Altcha solution is unreadable, wrong, expired, not for this buyer and sale, or used',
);
export const saleNotFound = new ApiError(404, 'SALE_NOT_FOUND', 'no such sale');

// What the sale asks: from the process's cache when it knows the sale, a plain value then; 404
// for a sale PostgreSQL does not know, 503 while it cannot be asked.
export function saleWork(deps: ApiDeps, saleId: number): SaleWork | Promise<SaleWork> {
  const cached = deps.proofOfWorkSales.cached(saleId);
  if (cached !== undefined) return cached;
  return deps.proofOfWorkSales.read(saleId).then(
    (entry) => entry ?? Promise.reject(saleNotFound),
    (error: unknown) => {
      deps.logger.warn(
        { err: error, saleId },
        'proof-of-work flag unreadable: redis and postgresql away',
      );
      throw unavailable();
    },
  );
}

// The proof of work a buyer's request carries, for a sale that asks for it: nothing when it is
// accepted (marked used, across every process), else the 403 the contract names. The purchase
// of a sale without a room calls it after its 401 and 400; so does the waiting room's join.
export async function requireProofOfWork(
  deps: ApiDeps,
  saleId: number,
  buyer: string,
  header: string | undefined,
  idempotencyKey?: string,
): Promise<void> {
  let verdict: PowVerdict;
  try {
    verdict = await deps.proofOfWork.verify(saleId, buyer, header, idempotencyKey);
  } catch (error) {
    deps.logger.warn({ err: error, saleId }, 'proof of work unverifiable: redis unavailable');
    throw unavailable();
  }
  if (verdict.kind === 'required') throw challengeRequired;
  if (verdict.kind === 'failed') throw challengeFailed;
}
