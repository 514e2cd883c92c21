import { z } from '@hono/zod-openapi';
import { buyer, errors, json, type Registry } from './describe.js';
import { saleIdParam } from './schemas.js';
import { roomFiles } from '../room-page.js';

const isoDateTime = z.string().openapi({ format: 'date-time' });

// A place in a sale's line (API.md, "Waiting room"; src/api/routes/queue.ts builds it).
const placeSchema = z
  .object({
    saleId: z.number().int(),
    state: z.enum(['prequeue', 'waiting', 'admitted', 'closed']),
    position: z
      .number()
      .int()
      .nullable()
      .openapi({ description: 'from 1, among those still waiting; null in the prequeue' }),
    ahead: z.number().int().nullable(),
    etaSeconds: z.number().int().nullable().openapi({ description: 'from the measured outflow' }),
    pollAfterMs: z.number().int(),
    ticket: z.string().openapi({ description: 'send it back as X-Queue-Ticket' }),
    pass: z
      .string()
      .optional()
      .openapi({ description: 'send it with each purchase as X-Queue-Pass' }),
    passExpiresAt: isoDateTime.optional(),
    reason: z.enum(['SOLD_OUT', 'SALE_ENDED', 'PASS_EXPIRED']).optional(),
  })
  .openapi('Place');

const ticketHeader = z.object({
  'x-queue-ticket': z.string().optional().openapi({
    description: 'the ticket of an earlier answer: a place the server lost is given back from it',
  }),
});

const buyerErrors = { 400: 'BAD_REQUEST', 401: 'UNAUTHORIZED', 404: 'SALE_NOT_FOUND' };

const page = (description: string, type: string) => ({
  description,
  content: { [type]: { schema: { type: 'string' as const } } },
});

// The room's page and its files (src/api/room-page.ts): public, the same for every buyer.
function describePage(registry: Registry) {
  registry.registerPath({
    method: 'get',
    path: '/sales/{saleId}/room',
    tags: ['sales'],
    summary: "The waiting room's page a buyer opens in a browser",
    description:
      "Countdown, place and ETA, the purchase once admitted, the order's status. The buyer's token rides in the link's fragment (#token=) or query (?token=).",
    request: { params: saleIdParam },
    responses: {
      200: page('the page', 'text/html'),
      ...errors({ 400: 'BAD_REQUEST' }),
    },
  });
  for (const file of roomFiles) {
    registry.registerPath({
      method: 'get',
      path: `/room/${file}`,
      tags: ['sales'],
      summary: `A file of the waiting room's page`,
      responses: {
        200: page('the file', file.endsWith('.css') ? 'text/css' : 'text/javascript'),
      },
    });
  }
}

// POST, GET and DELETE /sales/:saleId/queue (src/api/routes/queue.ts), and the page.
export function describeRoom(registry: Registry) {
  describePage(registry);
  registry.registerPath({
    method: 'post',
    path: '/sales/{saleId}/queue',
    tags: ['sales'],
    summary: "Join a sale's waiting room",
    description: 'One place per buyer per sale: joining again answers the same place.',
    security: buyer,
    request: {
      params: saleIdParam,
      headers: ticketHeader.extend({
        'x-altcha': z.string().optional().openapi({
          description: 'for a sale with proofOfWork: a solved challenge (ALTCHA, base64)',
        }),
      }),
    },
    responses: {
      200: json("the buyer's place", placeSchema),
      ...errors({
        ...buyerErrors,
        403: 'QUEUE_NOT_OPEN, SALE_ENDED, SALE_PAUSED, CHALLENGE_REQUIRED or CHALLENGE_FAILED',
        409: 'NO_WAITING_ROOM, or SOLD_OUT with nothing that could come back',
      }),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/sales/{saleId}/queue',
    tags: ['sales'],
    summary: "The buyer's place in line; asking keeps it",
    security: buyer,
    request: { params: saleIdParam, headers: ticketHeader },
    responses: {
      200: json("the buyer's place", placeSchema),
      ...errors({ ...buyerErrors, 404: 'SALE_NOT_FOUND or NOT_IN_QUEUE', 409: 'NO_WAITING_ROOM' }),
    },
  });
  registry.registerPath({
    method: 'delete',
    path: '/sales/{saleId}/queue',
    tags: ['sales'],
    summary: 'Leave the line',
    security: buyer,
    request: { params: saleIdParam, headers: ticketHeader },
    responses: {
      204: { description: 'the place is given up' },
      ...errors({ ...buyerErrors, 409: 'NO_WAITING_ROOM' }),
    },
  });
}
