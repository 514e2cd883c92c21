import type { IncomingMessage } from 'node:http';
import type { FrontReply } from './edge.js';
import type { ApiMetrics } from '../observability/metrics.js';
import type { Logger } from '../observability/logger.js';
import type { RecordAnswer } from './middleware/http-metrics.js';
import type { BuyerVerifier } from '../auth/buyer-verifier.js';
import type { Rooms } from '../room/room.js';
import type { RoomSettings } from '../room/settings.js';
import { isTransientFailure } from '../errors/classify.js';
import { errorBody, type ApiError } from './api-error.js';
import { joinedRefusal, joinStateRefusal, joinWindowRefusal, placeBody } from './routes/queue.js';
import { knownBuyerAndRoom, queuePath } from './poll-front.js';

const route = '/sales/:saleId/queue';
const json = ['content-type', 'application/json'];
const unavailable = JSON.stringify(errorBody('UNAVAILABLE', 'a dependency is unavailable'));
const internal = JSON.stringify(errorBody('INTERNAL', 'internal error'));

export type JoinFrontDeps = {
  buyers: BuyerVerifier;
  rooms: Rooms;
  metrics: ApiMetrics;
  recordAnswer: RecordAnswer;
  logger: Logger;
};

// The join's front door, in plain Node before the app (./edge.ts), as the poll's is
// (./poll-front.ts): a crowd joins in the minutes before the start, each buyer once, and the
// app's router, middleware, Request and Response were a fifth of a join's CPU (bench/README.md,
// "The join's front door and batches"). It takes only the join the route would take as it
// stands, with everything it checks first already in memory: a bearer token verified without
// a wait, the room's settings read before and its view, neither refused by the route's own
// checks (joinWindowRefusal, joinStateRefusal), no proof of work, and no body. The join itself
// is the app's own (Rooms.join, placeBody), and so are its answers. Anything else is handed
// on, untouched, to the app, which answers it as always. Returns whether it took the request.
export function joinFrontDoor(deps: JoinFrontDeps) {
  const verify = (token: string) => deps.buyers.now(token);
  const roomOf = (incoming: IncomingMessage, saleId: number) => {
    const known = knownBuyerAndRoom(incoming, saleId, verify, deps.rooms);
    if (!known) return undefined;
    const { room } = known;
    const now = Date.now();
    if (joinWindowRefusal(room, now) || room.proofOfWork) return undefined;
    const snapshot = deps.rooms.views.current(saleId, now);
    if (!snapshot || joinStateRefusal(room, snapshot.doc)) return undefined;
    return known;
  };
  const answer = (
    reply: FrontReply,
    started: number,
    status: number,
    body: string,
    headers: readonly string[] = json,
  ) => {
    reply(status, [...headers, 'content-length', String(Buffer.byteLength(body))], body);
    deps.recordAnswer(route, 'POST', status, (performance.now() - started) / 1000);
  };
  const refuse = (reply: FrontReply, started: number, error: ApiError) =>
    answer(reply, started, error.status, error.body, [
      ...Object.entries(error.headers).flat(),
      ...json,
    ]);
  const join = async (room: RoomSettings, buyer: string, ticket: string | undefined) => {
    const joined = await deps.rooms.join(room, buyer, ticket);
    if (joined === null || typeof joined === 'string') return joinedRefusal(joined);
    return JSON.stringify(placeBody(room.saleId, joined));
  };
  // What the app's error handler (./middleware/on-error.ts) answers for the same failure.
  const failed = (reply: FrontReply, started: number, error: unknown) => {
    if (isTransientFailure(error)) {
      deps.logger.warn({ err: error }, 'dependency unavailable');
      return answer(reply, started, 503, unavailable);
    }
    deps.metrics.httpServerErrors.inc({ route });
    deps.logger.error({ err: error, method: 'POST', route }, 'unexpected error');
    return answer(reply, started, 500, internal);
  };
  return (incoming: IncomingMessage, started: number, reply: FrontReply): boolean => {
    if (incoming.method !== 'POST') return false;
    const match = queuePath.exec(incoming.url ?? '');
    if (!match) return false;
    const length = incoming.headers['content-length'];
    if (incoming.headers['transfer-encoding'] !== undefined) return false;
    if (length !== undefined && length !== '0') return false;
    let taken: ReturnType<typeof roomOf>;
    try {
      taken = roomOf(incoming, Number(match[1]));
    } catch {
      // Thrown here, out of the app, it would end the process: the app meets the same failure
      // and answers it as it answers its own errors.
      return false;
    }
    if (!taken) return false;
    const ticket = incoming.headers['x-queue-ticket'];
    join(taken.room, taken.buyer, typeof ticket === 'string' ? ticket : undefined).then(
      (result) =>
        typeof result === 'string'
          ? answer(reply, started, 200, result)
          : refuse(reply, started, result),
      (error: unknown) => failed(reply, started, error),
    );
    deps.metrics.joinFrontAnswers.inc();
    return true;
  };
}
