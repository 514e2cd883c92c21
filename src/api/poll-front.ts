import type { IncomingMessage } from 'node:http';
import type { FrontReply } from './edge.js';
import type { ApiMetrics } from '../observability/metrics.js';
import type { RecordAnswer } from './middleware/http-metrics.js';
import type { BuyerVerifier } from '../auth/buyer-verifier.js';
import type { Rooms } from '../room/room.js';
import type { RoomSettings } from '../room/settings.js';
import { parseAuthorization } from '../auth/credentials.js';
import { placeBody } from './routes/queue.js';

// Exactly the poll's path, without a query string (refused 400 by the app); the id is the one
// parseSaleId accepts.
export const queuePath = /^\/sales\/([1-9][0-9]{0,14})\/queue$/;
const route = '/sales/:saleId/queue';

export type PollFrontDeps = {
  buyers: BuyerVerifier;
  rooms: Rooms;
  metrics: ApiMetrics;
  recordAnswer: RecordAnswer;
};

// The header's one value; undefined when it is absent or sent more than once (Node keeps the
// first Authorization, the app reads them all, joined: that one is the app's to refuse).
function single(incoming: IncomingMessage, name: string): string | undefined {
  const raw = incoming.rawHeaders;
  let value: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const header = raw[i]!;
    if (header.length !== name.length || header.toLowerCase() !== name) continue;
    if (value !== undefined) return undefined;
    value = raw[i + 1];
  }
  return value;
}

// What a front door knows of a room request without a wait: the buyer its one bearer token
// names (by `verify`: a lookup, or HS256's check) and the room's settings read before; else
// undefined, and the app answers it.
export function knownBuyerAndRoom(
  incoming: IncomingMessage,
  saleId: number,
  verify: (token: string) => string | null | undefined,
  rooms: Rooms,
): { buyer: string; room: RoomSettings } | undefined {
  const credentials = parseAuthorization(single(incoming, 'authorization'));
  if (credentials?.scheme !== 'bearer') return undefined;
  const buyer = verify(credentials.value);
  if (typeof buyer !== 'string') return undefined;
  const room = rooms.known(saleId);
  if (room === undefined || typeof room === 'string') return undefined;
  return { buyer, room };
}

// The waiting room's steady poll, answered in plain Node before the app (./edge.ts): a page
// polls every few seconds with the same JWT and ticket, and the app's router, middleware,
// Request and Response cost more than the answer itself (bench/README.md, "The poll's front
// door"). It answers only what is all in memory: a JWT verified before and still within its
// time, the room's settings read before, a ticket of this buyer's for this sale and the
// room's view; the answer is the app's own (Rooms.placeKnown, placeBody). Anything else is
// handed on, untouched, to the app, which answers it as always. Returns whether it answered.
export function pollFrontDoor(deps: PollFrontDeps) {
  // The answer's body, or undefined when it is not all known here.
  const verify = (token: string) => deps.buyers.known(token);
  const bodyOf = (incoming: IncomingMessage, saleId: number): string | undefined => {
    const known = knownBuyerAndRoom(incoming, saleId, verify, deps.rooms);
    if (!known) return undefined;
    const { buyer, room } = known;
    const ticket = incoming.headers['x-queue-ticket'];
    const place = deps.rooms.placeKnown(
      room,
      buyer,
      typeof ticket === 'string' ? ticket : undefined,
    );
    return place && JSON.stringify(placeBody(saleId, place));
  };
  return (incoming: IncomingMessage, started: number, reply: FrontReply): boolean => {
    if (incoming.method !== 'GET') return false;
    const match = queuePath.exec(incoming.url ?? '');
    if (!match) return false;
    let body: string | undefined;
    try {
      body = bodyOf(incoming, Number(match[1]));
    } catch {
      // Thrown here, out of the app, it would end the process: the app meets the same failure
      // and answers it as it answers its own errors.
      return false;
    }
    if (body === undefined) return false;
    const length = String(Buffer.byteLength(body));
    reply(200, ['content-type', 'application/json', 'content-length', length], body);
    deps.metrics.pollFrontAnswers.inc();
    deps.recordAnswer(route, 'GET', 200, (performance.now() - started) / 1000);
    return true;
  };
}
