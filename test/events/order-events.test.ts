import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestEnv, waitFor, type TestEnv } from '../support/env.js';
import { client, startSystem, type Client, type System } from '../support/system.js';
import { assertPaymentOracle, payWebhook } from '../support/payments.js';
import { buyersNamed, buyOnce } from '../support/buyers.js';
import { createSaleOk } from '../support/sales.js';
import { expectEventsDelivered } from '../support/event-deliveries.js';
import {
  bindEventsQueue,
  expectedStatuses,
  startReceiver,
  type Receiver,
} from '../support/events.js';
import { startEvents } from '../../src/cmd/wiring/events.js';

const secret = `whsec_${Buffer.from('flashline-test-events-secret').toString('base64')}`;

// API.md, Order events, on the real services with nothing failing: a sale whose orders are
// paid, cancelled and left to expire makes exactly one event per change, on RabbitMQ and as a
// signed webhook that the standardwebhooks library verifies; refused deliveries are retried
// with the same id within seconds.
// order events
let env: TestEnv;
let sut: System;
let api: Client;
let receiver: Receiver;
let events: Awaited<ReturnType<typeof startEvents>>;

beforeAll(async () => {
  receiver = await startReceiver(secret);
  env = await createTestEnv('events', {
    EVENTS_WEBHOOK_URL: receiver.url,
    EVENTS_WEBHOOK_SECRET: secret,
  });
  await bindEventsQueue(env.config.amqp.url);
  sut = await startSystem(env);
  events = await startEvents(env.config, env.logger.child({ proc: 'events' }));
  api = client(sut.baseUrl, env);
});
afterAll(async () => {
  await events?.stop();
  await sut?.stop();
  await receiver?.stop();
  await env?.cleanup();
});

it('makes one event per status change, published and delivered signed, retried with its id', async () => {
  const sale = { sku: 'events-1', name: 'Events', stock: 30, paymentWindowSeconds: 10 };
  const saleId = await createSaleOk(api, sale);
  // The receiver's first three answers are 500s: those deliveries come again.
  receiver.refuseNext(3);
  const answers = await buyOnce(api, saleId, buyersNamed('ev', 30), 8);
  expect(answers.every((a) => a.status === 202)).toBe(true);
  for (const a of answers) {
    await waitFor(async () => (await api.order(a.orderId!, a.buyer)).body.status === 'confirmed');
  }
  // A third paid, a third cancelled by their buyers, a third left to expire.
  for (const [i, a] of answers.entries()) {
    if (i % 3 === 0)
      expect((await payWebhook(sut.baseUrl, env, a.orderId!, `pay-${i}`)).status).toBe(200);
    if (i % 3 === 1) {
      const cancelled = await api.raw(
        'POST',
        `/orders/${a.orderId}/cancel`,
        api.buyerHeaders(a.buyer),
      );
      expect(cancelled.status).toBe(200);
    }
  }
  await assertPaymentOracle(env, saleId, answers, { windowsClosed: true });

  const expected = await expectedStatuses(env, saleId);
  expect([...expected.values()].flat().length).toBe(60);
  await expectEventsDelivered(env, saleId, expected, { receiver, amqpUrl: env.config.amqp.url });
  // Nothing failed but the three refusals, which were retried: each event delivered once.
  expect(receiver.deliveries.length).toBe(60);
  const delivered = receiver.deliveries[0]!;
  expect(delivered.body).toMatchObject({
    type: 'order.confirmed',
    order: { saleId, quantity: 1, status: 'confirmed' },
  });
  expect(Date.parse(delivered.body.occurredAt)).toBeGreaterThan(0);
});
