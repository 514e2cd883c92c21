import type { IncomingMessage } from 'node:http';
import type { BuyerVerifier } from '../auth/buyer-verifier.js';
import { parseAuthorization } from '../auth/credentials.js';
import type { Rooms } from '../room/room.js';
import type { FrontReply } from './edge.js';
import type { RecordAnswer } from './middleware/http-metrics.js';
import { placeBody } from './routes/queue.js';

// Exactly the poll's path, no query string (the app refuses one, 400); the id as parseSaleId
// accepts it.
const queuePath = /^\/sales\/([1-9][0-9]{0,14})\/queue$/;
const route = '/sales/:saleId/queue';

export type QueueFrontDeps = { rooms: Rooms; buyers: BuyerVerifier; recordAnswer: RecordAnswer };

// The poll's front door, in plain Node before the app (./edge.ts), as the purchase has one
// (./purchase-front.ts): a million buyers polling every couple of seconds is the room's normal
// case, and a poll is a JWT, a ticket's HMAC and a lookup in this process's view of the room
// (docs/waiting-room.md, "Scale"), cheaper than Hono's request and response around it. Only
// the answer the app would give 200 is given here: a buyer verified synchronously, with a
// ticket of theirs, of a room this process has read. Everything else goes to the app
// (./routes/queue.ts), which gives every other answer in the contract's order.
export function queueFrontDoor(deps: QueueFrontDeps) {
  return (incoming: IncomingMessage, started: number, reply: FrontReply): boolean => {
    if (incoming.method !== 'GET') return false;
    const match = queuePath.exec(incoming.url ?? '');
    const ticket = incoming.headers['x-queue-ticket'];
    if (!match || typeof ticket !== 'string') return false;
    const credentials = parseAuthorization(incoming.headers.authorization);
    if (credentials?.scheme !== 'bearer') return false;
    const buyer = deps.buyers.verify(credentials.value);
    // An asynchronous verifier (JWKS) is the app's: its promise is settled there.
    if (typeof buyer !== 'string') {
      if (buyer instanceof Promise) buyer.catch(() => undefined);
      return false;
    }
    const saleId = Number(match[1]);
    const room = deps.rooms.known(saleId);
    if (room === undefined || typeof room === 'string') return false;
    const place = deps.rooms.placeNow(room, buyer, ticket);
    if (!place) return false;
    const body = JSON.stringify(placeBody(saleId, place));
    const length = String(Buffer.byteLength(body));
    reply(200, ['content-type', 'application/json', 'content-length', length], body);
    deps.recordAnswer(route, 'GET', 200, (performance.now() - started) / 1000);
    return true;
  };
}
