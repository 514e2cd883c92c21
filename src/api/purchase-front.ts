import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiError } from './api-error.js';
import type { FrontReply } from './edge.js';
import type { ApiMetrics } from '../observability/metrics.js';
import type { RecordAnswer } from './middleware/http-metrics.js';
import type { SaleCache } from './sale-cache.js';
import type { AdaptiveAdmission } from './admission/adaptive-admission.js';
import { fixedRefusals } from './purchase.js';
import { shedAnswer } from './admission/shed-answer.js';

// Exactly the purchase route's path (no query string: that one keeps the contract's order and
// is refused 400 after the credentials); the id is the one parseSaleId accepts.
const purchasePath = /^\/sales\/([1-9][0-9]{0,14})\/purchase$/;
const route = '/sales/:saleId/purchase';

export type PurchaseFrontDeps = {
  saleCache?: SaleCache | undefined;
  admission?: AdaptiveAdmission | undefined;
  // Whether this process knows the sale to be bought through a waiting room.
  roomSale?: ((saleId: number) => boolean) | undefined;
  metrics: ApiMetrics;
  recordAnswer: RecordAnswer;
};

// The purchase route's front door, in plain Node before the app (./edge.ts): what it can answer
// here costs no JWT, no body and no Hono. First a sale the local cache knows is sold out or
// outside its window (API.md allows that answer before the credentials and the body, except to
// a request with an Idempotency-Key, which may be owed its first answer's order); then the
// adaptive admission: a purchase over the limit is answered 503 at once (a room's admitted
// buyer only over maxLimit), one let in is counted in flight until its answer is sent or its
// connection closes. Returns whether it answered.
export function purchaseFrontDoor(deps: PurchaseFrontDeps) {
  // Each answer's headers, flattened once.
  const headersOf = new Map<ApiError, string[]>();
  const answer = (reply: FrontReply, error: ApiError, started: number) => {
    let headers = headersOf.get(error);
    if (!headers) {
      headers = [...Object.entries(error.headers).flat(), 'content-type', 'application/json'];
      headersOf.set(error, headers);
    }
    reply(error.status, headers, error.body);
    deps.recordAnswer(route, 'POST', error.status, (performance.now() - started) / 1000);
    return true;
  };
  return (
    incoming: IncomingMessage,
    outgoing: ServerResponse,
    started: number,
    reply: FrontReply,
  ): boolean => {
    if (incoming.method !== 'POST') return false;
    const match = purchasePath.exec(incoming.url ?? '');
    if (!match) return false;
    if (deps.saleCache && incoming.headers['idempotency-key'] === undefined) {
      const known = deps.saleCache.refusal(Number(match[1]), Date.now(), null);
      if (known) {
        deps.metrics.saleCacheAnswers.inc({ outcome: known });
        deps.metrics.gateOutcomes.inc({ outcome: known });
        return answer(reply, fixedRefusals[known], started);
      }
    }
    if (!deps.admission) return false;
    // A room's admitted buyer is not shed (AdaptiveAdmission.tryAcquire): the room admitted
    // them at the rate the purchase path takes.
    const admitted =
      incoming.headers['x-queue-pass'] !== undefined && deps.roomSale?.(Number(match[1])) === true;
    const admittedAt = deps.admission.tryAcquire(admitted);
    if (admittedAt === null) {
      deps.metrics.gateOutcomes.inc({ outcome: 'shed' });
      return answer(reply, shedAnswer, started);
    }
    const admission = deps.admission;
    outgoing.once('close', () => admission.release(admittedAt));
    return false;
  };
}
