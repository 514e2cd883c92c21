import { z } from '@hono/zod-openapi';
import { idempotencyKeySchema, purchaseBodySchema } from '../validation.js';
import { buyer, errors, json, jsonBody, type Registry } from './describe.js';
import { saleIdParam, saleSchema } from './schemas.js';

const purchaseAccepted = z
  .object({ orderId: z.string(), status: z.literal('pending') })
  .openapi('PurchaseAccepted');

// An ALTCHA challenge (src/pow/challenge.ts): the widget reads it whole.
const challengeSchema = z
  .object({
    parameters: z.object({
      algorithm: z.string(),
      cost: z.number().int(),
      data: z.object({ buyer: z.string(), sale: z.number().int() }),
      expiresAt: z.number().int().openapi({ description: 'Unix seconds' }),
      keyLength: z.number().int(),
      keyPrefix: z.string(),
      keySignature: z.string(),
      nonce: z.string(),
      salt: z.string(),
    }),
    signature: z.string(),
  })
  .openapi('Challenge');

// GET /sales/:saleId, POST /sales/:saleId/purchase (src/api/routes/sales.ts) and the proof of
// work's challenge (routes/challenge.ts). The purchase is described here only: its handler
// validates with the same schemas and runs no extra layer.
export function describeSales(registry: Registry) {
  registry.registerPath({
    method: 'get',
    path: '/sales/{saleId}',
    tags: ['sales'],
    summary: 'A sale and what is left of it',
    request: { params: saleIdParam },
    responses: {
      200: json('the sale', saleSchema),
      ...errors({ 400: 'BAD_REQUEST', 404: 'SALE_NOT_FOUND' }),
    },
  });
  registry.registerPath({
    method: 'post',
    path: '/sales/{saleId}/purchase',
    tags: ['sales'],
    summary: 'Reserve units of a sale',
    description:
      'A 202 is a promise: the order ends confirmed, or failed with its stock returned. ' +
      'A sale known to be sold out or outside its window may be answered before the ' +
      'credentials and the body are read, except to a request with an Idempotency-Key.',
    security: buyer,
    request: {
      params: saleIdParam,
      headers: z.object({
        'idempotency-key': idempotencyKeySchema.optional().openapi({
          description: 'a repeat with the same key and buyer returns the first answer',
        }),
        'x-altcha': z.string().optional().openapi({
          description:
            "a sale with proof of work: the solved challenge, base64 as ALTCHA's widget sends it",
        }),
        'x-queue-pass': z.string().optional().openapi({
          description: "a sale with a waiting room: the pass of the buyer's admission",
        }),
      }),
      body: { ...jsonBody(purchaseBodySchema, 'empty: quantity 1'), required: false },
    },
    responses: {
      202: json('stock is reserved and the order durably queued', purchaseAccepted),
      ...errors({
        400: 'BAD_REQUEST: malformed body, quantity out of range',
        401: 'UNAUTHORIZED',
        403: 'SALE_NOT_STARTED, SALE_ENDED, SALE_PAUSED, CHALLENGE_REQUIRED, CHALLENGE_FAILED or NOT_ADMITTED (a sale with a room, without a valid pass)',
        404: 'SALE_NOT_FOUND',
        409: 'SOLD_OUT or LIMIT_REACHED',
        429: 'RATE_LIMITED, with Retry-After',
        503: 'UNAVAILABLE: a dependency is down or the API is shedding load; nothing was reserved',
      }),
    },
  });
  registry.registerPath({
    method: 'get',
    path: '/sales/{saleId}/challenge',
    tags: ['sales'],
    summary: 'A proof-of-work challenge (ALTCHA) for this buyer and sale',
    security: buyer,
    request: { params: saleIdParam },
    responses: {
      200: json('a signed challenge, expiring within minutes', challengeSchema),
      ...errors({
        400: 'BAD_REQUEST',
        401: 'UNAUTHORIZED',
        404: 'SALE_NOT_FOUND',
        409: 'NO_PROOF_OF_WORK: the sale asks for none',
        429: "RATE_LIMITED: past the buyer's or the client address's limit, with Retry-After",
      }),
    },
  });
}
