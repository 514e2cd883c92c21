import { z } from 'zod';

export const orderMessageSchema = z.object({
  orderId: z.string().min(1).max(100),
  saleId: z.number().int().positive(),
  userId: z.string().min(1).max(64),
  quantity: z.number().int().positive(),
  reservedAt: z.iso.datetime(),
  // W3C trace context of the purchase, when tracing is on.
  traceparent: z.string().optional(),
});
export type OrderMessage = z.infer<typeof orderMessageSchema>;

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
