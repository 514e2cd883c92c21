import { describe, expect, it } from 'vitest';
import { signPaymentBody, verifyPaymentSignature } from './signature.js';

const secret = 'webhook-secret';
const body = Buffer.from('{"orderId":"1-x","paymentId":"p1"}');

describe('payment webhook signature', () => {
  it('accepts the HMAC of the raw body', () => {
    expect(verifyPaymentSignature(body, signPaymentBody(body, secret), secret)).toBe(true);
  });

  it('refuses another body, another secret, a missing or malformed header', () => {
    const sut = verifyPaymentSignature;
    const good = signPaymentBody(body, secret);
    expect(sut(Buffer.from(`${body.toString()} `), good, secret)).toBe(false);
    expect(sut(body, signPaymentBody(body, 'other-secret'), secret)).toBe(false);
    expect(sut(body, undefined, secret)).toBe(false);
    expect(sut(body, good.slice('sha256='.length), secret)).toBe(false);
    expect(sut(body, `${good}00`, secret)).toBe(false);
    expect(sut(body, 'sha256=zz', secret)).toBe(false);
  });
});
