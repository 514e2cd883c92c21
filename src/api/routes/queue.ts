import { Hono, type Context } from 'hono';
import type { ApiDeps } from '../deps.js';
import { ApiError } from '../api-error.js';
import { authenticateBuyer } from '../middleware/auth.js';
import { parseSaleId, rejectQuery } from '../validation.js';
import { requireProofOfWork, saleNotFound } from '../proof-of-work-check.js';
import type { PlaceReply } from '../../room/room.js';
import { fixedRefusals } from '../purchase.js';
import type { RoomSettings } from '../../room/settings.js';
import type { ViewDoc } from '../../room/view-doc.js';

const noRoom = new ApiError(409, 'NO_WAITING_ROOM', 'this sale has no waiting room');
const notOpen = new ApiError(403, 'QUEUE_NOT_OPEN', 'the waiting room is not open yet');
const ended = new ApiError(403, 'SALE_ENDED', 'the sale has ended');
const soldOut = new ApiError(409, 'SOLD_OUT', 'the sale is sold out');
export const notInQueue = new ApiError(404, 'NOT_IN_QUEUE', 'no place in this line');

// A place as the contract writes it (API.md, "Waiting room"); the poll's front door
// (../poll-front.ts) answers with it too.
export function placeBody(saleId: number, reply: PlaceReply) {
  return {
    saleId,
    state: reply.state,
    position: reply.position,
    ahead: reply.ahead,
    etaSeconds: reply.etaSeconds,
    pollAfterMs: reply.pollAfterMs,
    ticket: reply.ticket,
    ...(reply.passToken && reply.pass
      ? { pass: reply.passToken, passExpiresAt: new Date(reply.pass.expiresAtMs).toISOString() }
      : {}),
    ...(reply.reason ? { reason: reply.reason } : {}),
  };
}

// The join's refusals before its proof of work and its script, in the route's order, shared
// with the join's front door (../join-front.ts), which hands every join they refuse to the app:
// first the room's window (no view is read outside it),
export function joinWindowRefusal(room: RoomSettings, now: number): ApiError | null {
  if (now < room.opensAtMs) return notOpen;
  if (room.endsAtMs !== null && now >= room.endsAtMs) return ended;
  return null;
}

// then what the room's view and settings say. The kill switch refuses joins as it does
// purchases (API.md, Operating a sale): the join script reads the gate's flag, at once on every
// process; PostgreSQL's, in the room's settings (read again each half second while used),
// refuses before a proof of work is spent, and when Redis forgot the gate's copy.
export function joinStateRefusal(room: RoomSettings, doc: ViewDoc | null): ApiError | null {
  if (doc?.status === 'closed') return soldOut;
  if (room.paused) return fixedRefusals.paused;
  return null;
}

// What refused a join the script was asked for: the gate's own kill switch or end, which
// can be ahead of this process's settings for a moment; or no place (null).
export function joinedRefusal(joined: 'paused' | 'ended' | null): ApiError {
  if (joined === 'paused') return fixedRefusals.paused;
  if (joined === 'ended') return ended;
  return notInQueue;
}

// 401, then 400, then the sale's own answers (404, 409 without a room).
async function buyerAndRoom(
  deps: ApiDeps,
  c: Context,
): Promise<{ buyer: string; room: RoomSettings }> {
  const buyer = await authenticateBuyer(c.req.header('authorization'), deps.buyers);
  const saleId = parseSaleId(c.req.param('saleId') ?? '');
  rejectQuery(c.req.query());
  const room = await deps.rooms.lookup(saleId);
  if (room === 'absent') throw saleNotFound;
  if (room === 'none') throw noRoom;
  return { buyer, room };
}

// POST, GET and DELETE /sales/:saleId/queue: join the line, ask for one's place (which keeps
// it), leave it. Polls are answered from this process's memory (src/room/room.ts).
export function queueRoutes(deps: ApiDeps) {
  return new Hono()
    .post('/:saleId/queue', async (c) => {
      const { buyer, room } = await buyerAndRoom(deps, c);
      const now = Date.now();
      const outside = joinWindowRefusal(room, now);
      if (outside) throw outside;
      const { doc } = await deps.rooms.views.snapshot(room.saleId, now);
      const refused = joinStateRefusal(room, doc);
      if (refused) throw refused;
      if (room.proofOfWork) {
        await requireProofOfWork(deps, room.saleId, buyer, c.req.header('x-altcha'));
      }
      const reply = await deps.rooms.join(room, buyer, c.req.header('x-queue-ticket'));
      if (reply === null || typeof reply === 'string') throw joinedRefusal(reply);
      return c.json(placeBody(room.saleId, reply));
    })
    .get('/:saleId/queue', async (c) => {
      const { buyer, room } = await buyerAndRoom(deps, c);
      const reply = await deps.rooms.place(room, buyer, c.req.header('x-queue-ticket'));
      if (!reply) throw notInQueue;
      return c.json(placeBody(room.saleId, reply));
    })
    .delete('/:saleId/queue', async (c) => {
      const { buyer, room } = await buyerAndRoom(deps, c);
      await deps.rooms.leave(room, buyer, c.req.header('x-queue-ticket'));
      return c.body(null, 204);
    });
}
