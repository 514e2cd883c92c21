import { z } from '@hono/zod-openapi';
import { orderStatuses } from '../../db/schema.js';
import type { saleView } from '../sale-view.js';
import type { orderView } from '../order-view.js';
import { saleIdPattern } from '../validation.js';

// The answers' schemas. The requests' are the ones that validate them (../validation.ts);
// these describe what the handlers build, and the type checks below fail the typecheck when a
// view (../sale-view.ts, ../order-view.ts) and its schema part.

const isoDateTime = z.string().openapi({ format: 'date-time', example: '2026-12-06T09:00:00Z' });

export const errorSchema = z
  .object({
    error: z.object({
      code: z.string().openapi({ example: 'BAD_REQUEST', pattern: '^[A-Z_]+$' }),
      message: z.string(),
    }),
  })
  .openapi('Error');

export const saleSchema = z
  .object({
    id: z.number().int(),
    sku: z.string(),
    name: z.string(),
    stock: z.number().int().openapi({ description: 'the total of units, as last set' }),
    remaining: z.number().int().openapi({ description: 'what the gate can still reserve' }),
    soldOut: z.boolean(),
    perUserLimit: z.number().int(),
    startsAt: isoDateTime,
    endsAt: isoDateTime.nullable(),
    shards: z.number().int(),
    paymentWindowSeconds: z.number().int().nullable(),
    proofOfWork: z.boolean(),
    paused: z.boolean(),
    waitingRoom: z
      .object({
        opensAt: isoDateTime,
        passSeconds: z.number().int(),
        idleSeconds: z.number().int(),
        admitPerSecond: z.number().int().nullable(),
        waiting: z.number().int().openapi({ description: 'buyers in line now, not yet admitted' }),
        admitted: z.number().int().openapi({ description: 'passes issued so far' }),
      })
      .nullable()
      .openapi({ description: 'the waiting room (API.md); null for a sale without one' }),
  })
  .openapi('Sale');

export const orderSchema = z
  .object({
    orderId: z.string(),
    saleId: z.number().int(),
    userId: z.string(),
    quantity: z.number().int(),
    status: z.enum(orderStatuses),
    reason: z.string().optional(),
    payBy: isoDateTime.optional(),
    createdAt: isoDateTime,
    updatedAt: isoDateTime,
  })
  .openapi('Order');

// The order export's columns, in order: the order object's fields (API.md, Operating a sale).
export const orderFields = Object.keys(orderSchema.shape) as (keyof z.infer<typeof orderSchema>)[];

export const saleIdParam = z.object({
  saleId: z
    .string()
    .regex(saleIdPattern)
    .openapi({ param: { name: 'saleId', in: 'path' }, example: '1' }),
});

export const orderIdParam = z.object({
  orderId: z
    .string()
    .openapi({ param: { name: 'orderId', in: 'path' }, example: '1-0b8f2c1e-...' }),
});

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
// A view that gains or loses a field without its schema fails here.
export const viewsMatchSchemas: [
  Same<ReturnType<typeof saleView>, z.infer<typeof saleSchema>>,
  Same<ReturnType<typeof orderView>, z.infer<typeof orderSchema>>,
] = [true, true];
