import { z } from 'zod';

export const orderMessageSchema = z.object({
  orderId: z.string().min(1).max(100),
  saleId: z.number().int().positive(),
  userId: z.string().min(1).max(64),
  quantity: z.number().int().positive(),
  reservedAt: z.iso.datetime(),
  // The purchase's Idempotency-Key: PostgreSQL records it with the order and refuses a second
  // confirmed order for it, even after Redis forgot the key.
  idempotencyKey: z.string().min(1).max(128).optional(),
  // The gate shard whose unit the order holds, for a sale over shards.
  shard: z.number().int().min(0).max(63).optional(),
  // W3C trace context of the purchase, when tracing is on.
  traceparent: z.string().optional(),
});
export type OrderMessage = z.infer<typeof orderMessageSchema>;

// The orders one API process accepted in one event-loop turn (OrderPublisher), in one message.
// PUBLISH_BATCH_MAX cannot exceed the bound: a longer message would be refused as unparseable.
export const maxOrdersPerMessage = 10_000;
export const orderBatchSchema = z.object({
  orders: z.array(orderMessageSchema).min(1).max(maxOrdersPerMessage),
});
export type OrderBatchMessage = z.infer<typeof orderBatchSchema>;

// A message holds one order, or the orders one API process accepted in one turn.
const orderMessagesSchema = z.union([orderBatchSchema, orderMessageSchema]);

// The orders of a message in either format, or null when it is not one.
export function decodeOrders(body: Buffer): OrderMessage[] | null {
  const message = decode(orderMessagesSchema, body);
  if (!message) return null;
  return 'orders' in message ? message.orders : [message];
}

export const deadLetterSchema = orderMessageSchema.extend({
  reason: z.string(),
  attempts: z.number().int().nonnegative(),
  failedAt: z.string(),
});
export type DeadLetter = z.infer<typeof deadLetterSchema>;

export function encode(message: object): Buffer {
  return Buffer.from(JSON.stringify(message));
}

export function decode<T>(schema: z.ZodType<T>, body: Buffer): T | null {
  try {
    const parsed = schema.safeParse(JSON.parse(body.toString('utf8')));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
