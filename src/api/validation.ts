import { z } from 'zod';
import { badRequest } from './api-error.js';
import { saleIdOfOrder } from '../gate/order-id.js';

export const saleIdPattern = /^[1-9][0-9]{0,14}$/;

export function parseSaleId(raw: string): number {
  if (!saleIdPattern.test(raw)) throw badRequest('saleId must be a positive integer');
  return Number(raw);
}

export function parseOrderId(raw: string): { orderId: string; saleId: number } {
  const saleId = saleIdOfOrder(raw);
  if (saleId === null) throw badRequest('orderId is malformed');
  return { orderId: raw, saleId };
}

// No endpoint reads the query string: a parameter there is a client mistake (a quantity
// sent as `?quantity=2` would otherwise be silently ignored), so it is refused.
export function rejectQuery(query: Record<string, string>): void {
  const names = Object.keys(query);
  if (names.length > 0) throw badRequest('this endpoint takes no query parameters');
}

// Parses a JSON body with a zod schema; an empty body is parsed as `emptyAs`.
export async function readJson<T>(
  request: { text(): Promise<string> },
  schema: z.ZodType<T>,
  emptyAs?: unknown,
): Promise<T> {
  let text: string;
  try {
    text = await request.text();
  } catch {
    // The client went away mid-body, or sent a body its framing did not match.
    throw badRequest('body could not be read');
  }
  let value: unknown;
  if (text.trim() === '' && emptyAs !== undefined) {
    value = emptyAs;
  } else {
    try {
      value = JSON.parse(text);
    } catch {
      throw badRequest('body is not valid JSON');
    }
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const where = first?.path.length ? `${first.path.join('.')}: ` : '';
    throw badRequest(`${where}${first?.message ?? 'invalid body'}`);
  }
  return parsed.data;
}

export const purchaseBodySchema = z
  .object({ quantity: z.number().int().min(1).max(10_000).default(1) })
  .strict();

export const idempotencyKeySchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[\x21-\x7e]+$/, 'Idempotency-Key must be printable ASCII without spaces');

// PostgreSQL's timestamptz has no year 0, and a sale centuries away is a typo.
const earliest = Date.parse('2000-01-01T00:00:00Z');
const latest = Date.parse('9999-12-31T23:59:59Z');
export const isoDate = z.iso
  .datetime({ offset: true })
  .transform((value) => new Date(value))
  .refine((date) => date.getTime() >= earliest && date.getTime() <= latest, {
    message: 'date must be between the years 2000 and 9999',
  });

// Control characters (C0, DEL, C1: Unicode's Cc) and lone surrogates cannot be stored as
// PostgreSQL text. Written without the `u` flag, because the OpenAPI document carries the
// pattern and JSON Schema has no flags; a surrogate pair is matched as its two halves, so it
// holds with or without `u`.
// eslint-disable-next-line no-control-regex -- the control characters are what it refuses
const printable = /^(?:[^\x00-\x1f\x7f-\x9f\ud800-\udfff]|[\ud800-\udbff][\udc00-\udfff])+$/;

export const createSaleSchema = z
  .object({
    sku: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[A-Za-z0-9._-]+$/, 'sku: letters, digits, . _ -'),
    name: z.string().min(1).max(200).regex(printable, 'name: no control characters'),
    stock: z.number().int().min(1).max(10_000_000),
    perUserLimit: z.number().int().min(1).max(10_000).default(1),
    startsAt: isoDate.optional(),
    endsAt: isoDate.optional(),
    paymentWindowSeconds: z.number().int().min(10).max(86_400).optional(),
    shards: z.number().int().min(1).max(64).default(1),
    proofOfWork: z.boolean().default(false),
    waitingRoom: z
      .object({
        opensAt: isoDate.optional(),
        passSeconds: z.number().int().min(30).max(3600).default(300),
        idleSeconds: z.number().int().min(10).max(600).default(60),
        admitPerSecond: z.number().int().min(1).max(1_000_000).optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((sale) => !sale.endsAt || sale.endsAt > (sale.startsAt ?? new Date()), {
    message: 'endsAt must be after startsAt',
    path: ['endsAt'],
  })
  .refine(
    (sale) =>
      !sale.waitingRoom?.opensAt || sale.waitingRoom.opensAt <= (sale.startsAt ?? new Date()),
    { message: 'opensAt must not be after startsAt', path: ['waitingRoom', 'opensAt'] },
  );

// A room opens this long before its sale's start when its opensAt is not given (API.md).
export const defaultRoomLeadMs = 15 * 60_000;

export function badRequestFrom<T>(schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw badRequest(parsed.error.issues[0]?.message ?? 'invalid value');
  return parsed.data;
}

// The payment provider's webhook body (API.md, Payment); nothing else is accepted.
export const paymentWebhookSchema = z
  .object({
    orderId: z.string().min(1).max(128),
    paymentId: z
      .string()
      .min(1)
      .max(128)
      .regex(/^[\x21-\x7e]+$/, 'paymentId must be printable ASCII without spaces'),
  })
  .strict();
