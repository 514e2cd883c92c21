import { z } from 'zod';
import { isoDate } from './validation.js';

// GET /admin/sales: a page of sales, newest first (API.md, Operating a sale).
export const listSalesQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(200).default(50),
    // Opaque to clients: the id of the last sale of the previous page.
    cursor: z
      .string()
      .regex(/^[1-9][0-9]{0,14}$/, 'cursor must be the nextCursor of a previous page')
      .transform(Number)
      .optional(),
  })
  .strict();

// PATCH /admin/sales/:saleId: at least one of the fields an admin may change mid-sale;
// endsAt null makes the sale open-ended.
export const changeSaleSchema = z
  .object({
    endsAt: isoDate.nullable().optional(),
    stock: z.number().int().min(1).max(10_000_000).optional(),
    perUserLimit: z.number().int().min(1).max(10_000).optional(),
  })
  .strict()
  .refine((body) => Object.keys(body).length > 0, {
    message: 'give at least one of endsAt, stock, perUserLimit',
  });

export type SaleChangeBody = z.infer<typeof changeSaleSchema>;

// Who made a change, recorded with it (docs/operations.md): the X-Admin-Actor header.
export const adminActorSchema = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[\x20-\x7e]+$/, 'X-Admin-Actor must be printable ASCII');
