import { Writable } from 'node:stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestEnv, waitFor, type TestEnv } from '../support/env.js';
import { client, startSystem, type Client, type System } from '../support/system.js';
import { assertPaymentOracle, orderRows, payWebhook } from '../support/payments.js';
import { createLogger } from '../../src/observability/logger.js';
import { signPaymentBody } from '../../src/payments/signature.js';

// The webhook is a door into money (issue #14): forged, replayed, oversized and malformed
// calls are refused with 401 / 400 / 413, never a 5xx, change nothing, and are logged with
// their order id but never with the signature or the secret.
// the payment webhook refuses what it must
let env: TestEnv;
let sut: System;
let api: Client;
const lines: string[] = [];
let saleId: number;
let orderId: string;

beforeAll(async () => {
  const base = await createTestEnv('payhook', {
    PAYMENT_WEBHOOK_SECRET: 'webhook-secret-under-test',
  });
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  env = { ...base, logger: createLogger('info', 'test-payhook', sink) };
  sut = await startSystem(env);
  api = client(sut.baseUrl, env);
  const created = await api.createSale({
    sku: 'hook',
    name: 'Hook',
    stock: 3,
    paymentWindowSeconds: 600,
  });
  saleId = created.body.id as number;
  orderId = (await api.purchase(saleId, 'hook-buyer')).body.orderId as string;
  await waitFor(async () => (await api.order(orderId, 'hook-buyer')).body.status === 'confirmed');
});
afterAll(async () => {
  await sut?.stop();
  await env?.cleanup();
});

const post = (body: string, headers: Record<string, string>, path = '/payments/webhook') =>
  fetch(`${sut.baseUrl}${path}`, { method: 'POST', headers, body }).then(async (r) => ({
    status: r.status,
    body: (await r.json().catch(() => null)) as { error?: { code: string } } | null,
  }));
const signed = (body: string) => ({
  'content-type': 'application/json',
  'x-signature': signPaymentBody(body, env.config.payment.webhookSecret),
});

it('refuses forged and malformed calls, and they change nothing', async () => {
  const good = JSON.stringify({ orderId, paymentId: 'pay-1' });
  const refusals: [string, Promise<{ status: number; body: unknown }>, number][] = [
    ['no signature', payWebhook(sut.baseUrl, env, orderId, 'p', { signature: null }), 401],
    [
      'another secret',
      payWebhook(sut.baseUrl, env, orderId, 'p', { secret: 'guessed-secret-000' }),
      401,
    ],
    [
      "another body's signature",
      post(JSON.stringify({ orderId, paymentId: 'pay-forged' }), {
        'content-type': 'application/json',
        'x-signature': signPaymentBody(good, env.config.payment.webhookSecret),
      }),
      401,
    ],
    ['a bare hex digest', post(good, { 'x-signature': signed(good)['x-signature'].slice(7) }), 401],
    [
      'a truncated digest',
      post(good, { 'x-signature': signed(good)['x-signature'].slice(0, 40) }),
      401,
    ],
    ['not JSON', post('{"orderId":', signed('{"orderId":')), 400],
    ['empty', post('', signed('')), 400],
    ['an array', post('[]', signed('[]')), 400],
    [
      'an extra field',
      post(
        JSON.stringify({ orderId, paymentId: 'p', amount: 1 }),
        signed(JSON.stringify({ orderId, paymentId: 'p', amount: 1 })),
      ),
      400,
    ],
    [
      'an empty paymentId',
      post(
        JSON.stringify({ orderId, paymentId: '' }),
        signed(JSON.stringify({ orderId, paymentId: '' })),
      ),
      400,
    ],
    [
      'a paymentId too long',
      post(
        JSON.stringify({ orderId, paymentId: 'p'.repeat(129) }),
        signed(JSON.stringify({ orderId, paymentId: 'p'.repeat(129) })),
      ),
      400,
    ],
    [
      'a numeric orderId',
      post(
        JSON.stringify({ orderId: 7, paymentId: 'p' }),
        signed(JSON.stringify({ orderId: 7, paymentId: 'p' })),
      ),
      400,
    ],
    ['a query string', post(good, signed(good), '/payments/webhook?orderId=x'), 400],
  ];
  const oversized = JSON.stringify({ orderId, paymentId: 'p', pad: 'x'.repeat(5_000) });
  refusals.push(['over the webhook limit', post(oversized, signed(oversized)), 413]);
  const huge = JSON.stringify({ orderId, paymentId: 'p', pad: 'x'.repeat(20_000) });
  refusals.push(['over the edge limit', post(huge, signed(huge)), 413]);

  for (const [what, call, status] of refusals) {
    const answer = await call;
    expect(answer.status, what).toBe(status);
    expect(answer.body, what).toMatchObject({ error: { code: expect.any(String) } });
  }
  const [row] = (await orderRows(env, saleId)).filter((o) => o.id === orderId);
  expect(row).toMatchObject({ status: 'confirmed', payment_id: null });
  expect((await api.sale(saleId)).body.remaining).toBe(2);
});

it('answers unknown orders 404 and a replayed payment the same, once', async () => {
  const unknown = await payWebhook(
    sut.baseUrl,
    env,
    `${saleId}-00000000-0000-4000-8000-000000000000`,
    'p',
  );
  expect(unknown.status).toBe(404);
  expect((await payWebhook(sut.baseUrl, env, 'not-an-order', 'p')).status).toBe(404);

  const body = JSON.stringify({ orderId, paymentId: 'pay-1' });
  const first = await post(body, signed(body));
  const replays = await Promise.all(Array.from({ length: 5 }, () => post(body, signed(body))));
  expect(first).toEqual({ status: 200, body: { orderId, status: 'paid' } });
  for (const replay of replays) expect(replay).toEqual(first);
  const other = await payWebhook(sut.baseUrl, env, orderId, 'pay-2');
  expect(other.status).toBe(409);
  expect(other.body.error?.code).toBe('ORDER_NOT_PAYABLE');
  const result = await assertPaymentOracle(env, saleId, [
    { status: 202, orderId, buyer: 'hook-buyer', quantity: 1 },
  ]);
  expect(result).toMatchObject({ paid: 1, remaining: 2 });
});

it('logs every call with its order id, never the signature or the secret', () => {
  const webhookLines = lines.filter((l) => l.includes('payment webhook'));
  // Every refusal but the one over the edge's limit, answered before a byte of it is read.
  expect(webhookLines.filter((l) => l.includes('refused'))).toHaveLength(14);
  expect(webhookLines.filter((l) => l.includes('"result":"paid"'))).toHaveLength(1);
  expect(webhookLines.filter((l) => l.includes('"result":"replayed"'))).toHaveLength(5);
  const forged = webhookLines.filter((l) => l.includes('"status":401'));
  expect(forged.length).toBe(5);
  for (const line of forged) expect(line).toContain(orderId);
  const secret = env.config.payment.webhookSecret;
  const digest = signPaymentBody(JSON.stringify({ orderId, paymentId: 'pay-1' }), secret).slice(7);
  for (const line of lines) {
    expect(line).not.toContain(secret);
    expect(line).not.toContain(digest);
    expect(line).not.toContain('sha256=');
  }
});
