import { expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { webhookSigner } from './webhook-post.js';

// The dispatcher signs with node:crypto for its CPU; the signature must stay the library's.
it.each([
  ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
  [Buffer.from('a secret of the shop').toString('base64')],
])('signs as the standardwebhooks library does, and the library verifies it (%s)', (secret) => {
  const library = new Webhook(secret);
  const sign = webhookSigner(secret);
  const id = 'evt_2ZqX3lFxk';
  const at = new Date(1_765_000_000_000);
  const payload = JSON.stringify({ type: 'order.confirmed', data: { orderId: '1-abc' } });
  const seconds = Math.floor(at.getTime() / 1000);
  expect(sign(id, seconds, payload)).toBe(library.sign(id, at, payload));
  const headers = {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
    'webhook-signature': sign(id, Math.floor(Date.now() / 1000), payload),
  };
  expect(library.verify(payload, headers)).toEqual(JSON.parse(payload));
});
