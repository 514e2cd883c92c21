import { createHmac, timingSafeEqual } from 'node:crypto';

// `X-Signature: sha256=<hex HMAC-SHA256 of the raw body>` (API.md, Payment).
const header = /^sha256=([0-9a-f]{64})$/i;

export function signPaymentBody(body: string | Buffer, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

// Over the exact bytes received: a body re-serialized after parsing could differ from the
// one signed. The digests are compared in constant time, on buffers of equal length (the
// header's form fixes it), so the answer's timing tells nothing about how close a forgery was.
export function verifyPaymentSignature(
  body: Buffer,
  signature: string | undefined,
  secret: string,
): boolean {
  const match = signature === undefined ? null : header.exec(signature.trim());
  if (!match) return false;
  const given = Buffer.from(match[1]!, 'hex');
  const expected = createHmac('sha256', secret).update(body).digest();
  return given.length === expected.length && timingSafeEqual(given, expected);
}
