import { signPaymentBody } from '../payments/signature.js';

// The payment provider's call for one order, as a curl a person can paste: the raw body and
// its X-Signature (API.md, Payment).
export function payCurl(base: string, orderId: string, paymentId: string, secret: string): string {
  const body = JSON.stringify({ orderId, paymentId });
  return (
    `curl -s -X POST ${base}/payments/webhook -H 'content-type: application/json' ` +
    `-H 'x-signature: ${signPaymentBody(body, secret)}' -d '${body}'`
  );
}
