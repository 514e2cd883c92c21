import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import amqp from 'amqplib';
import { expect } from 'vitest';
import { Webhook } from 'standardwebhooks';
import type { TestEnv } from './env.js';
import { sql } from './payments.js';
import { topology } from '../../src/broker/topology.js';

// What a shop's systems see of the order events (API.md, Order events): a webhook receiver that
// verifies every delivery with the standardwebhooks library, and a RabbitMQ queue bound to the
// events exchange, read at the end.

export type EventBody = {
  id: string;
  type: string;
  occurredAt: string;
  order: { orderId: string; status: string; saleId: number; userId: string; quantity: number };
};

export type Delivery = { id: string; body: EventBody; raw: string; timestamp: string };

export type Receiver = {
  url: string;
  deliveries: Delivery[];
  // Requests whose signature did not verify (never expected).
  unverified: string[];
  // Answers this status to the next `count` deliveries (the receiver having a bad moment).
  refuseNext: (count: number, status?: number) => void;
  // Stops listening (connections refused) and starts again on the same port.
  stop: () => Promise<void>;
  start: () => Promise<void>;
};

export async function startReceiver(secret: string): Promise<Receiver> {
  const verifier = new Webhook(secret);
  const deliveries: Delivery[] = [];
  const unverified: string[] = [];
  let refusals = 0;
  let refusalStatus = 500;
  let server: Server | null = null;
  let port = 0;
  const listen = async () => {
    server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const headers = Object.fromEntries(
          ['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((h) => [
            h,
            String(request.headers[h] ?? ''),
          ]),
        );
        try {
          verifier.verify(raw, headers);
        } catch (error) {
          unverified.push(`${String(error)}: ${JSON.stringify(headers)}`);
          response.writeHead(400).end();
          return;
        }
        if (refusals > 0) {
          refusals -= 1;
          response.writeHead(refusalStatus).end();
          return;
        }
        const body = JSON.parse(raw) as EventBody;
        deliveries.push({
          id: headers['webhook-id']!,
          body,
          raw,
          timestamp: headers['webhook-timestamp']!,
        });
        response.writeHead(204).end();
      });
    });
    const listening = server;
    await new Promise<void>((resolve) => listening.listen(port, '127.0.0.1', resolve));
    port = (listening.address() as AddressInfo).port;
  };
  await listen();
  return {
    url: `http://127.0.0.1:${port}/hooks/flashline`,
    deliveries,
    unverified,
    refuseNext: (count, status = 500) => {
      refusals = count;
      refusalStatus = status;
    },
    stop: async () => {
      const closing = server;
      server = null;
      if (!closing) return;
      closing.closeAllConnections();
      await new Promise<void>((resolve) => closing.close(() => resolve()));
    },
    start: listen,
  };
}

export const eventsTestQueue = 'test.order-events';

// A durable queue bound to every order event, declared before the sale, so that it holds each
// message published while the test runs (across a broker restart too).
export async function bindEventsQueue(amqpUrl: string): Promise<void> {
  const connection = await amqp.connect(amqpUrl);
  try {
    const channel = await connection.createChannel();
    await channel.assertExchange(topology.eventsExchange, 'topic', { durable: true });
    await channel.assertQueue(eventsTestQueue, { durable: true });
    await channel.bindQueue(eventsTestQueue, topology.eventsExchange, 'order.#');
  } finally {
    await connection.close();
  }
}

export type Published = { body: EventBody; routingKey: string; messageId: string | undefined };

// Every message in the queue, in the order RabbitMQ delivers them, acknowledged.
export async function readEventsQueue(amqpUrl: string): Promise<Published[]> {
  const connection = await amqp.connect(amqpUrl);
  const published: Published[] = [];
  try {
    const channel = await connection.createChannel();
    for (;;) {
      const message = await channel.get(eventsTestQueue, { noAck: true });
      if (!message) break;
      published.push({
        body: JSON.parse(message.content.toString('utf8')) as EventBody,
        routingKey: message.fields.routingKey,
        messageId: message.properties.messageId as string | undefined,
      });
    }
  } finally {
    await connection.close();
  }
  return published;
}

type OutboxRead = { id: string; order_id: string; status: string; published: boolean };

export const outboxRows = (env: TestEnv, saleId: number) =>
  sql<OutboxRead>(
    env,
    `SELECT id::text, order_id, status, published_at IS NOT NULL AS published
     FROM order_events WHERE sale_id = $1 ORDER BY order_events.id`,
    [saleId],
  );

// The statuses each order of the sale went through that make an event, from its row: a
// confirmed order's, a paid, expired or cancelled one's two, a failed one's one.
export async function expectedStatuses(env: TestEnv, saleId: number) {
  const rows = await sql<{ id: string; status: string }>(
    env,
    'SELECT id, status FROM orders WHERE sale_id = $1',
    [saleId],
  );
  const expected = new Map<string, string[]>();
  for (const row of rows) {
    if (row.status === 'pending') continue;
    const path = ['paid', 'expired', 'cancelled'].includes(row.status)
      ? ['confirmed', row.status]
      : [row.status];
    expected.set(row.id, path);
  }
  return expected;
}

// The events oracle: exactly one outbox row per status change, every one published; RabbitMQ
// and the receiver got every event (repeats only with the same id and the same body); each
// order's events arrived in the order of its changes; every delivery verified.
export function assertEventsOracle(
  expected: Map<string, string[]>,
  outbox: OutboxRead[],
  published: Published[],
  receiver: Receiver | null,
) {
  const byOrder = new Map<string, string[]>();
  for (const row of outbox)
    byOrder.set(row.order_id, [...(byOrder.get(row.order_id) ?? []), row.status]);
  expect(Object.fromEntries(byOrder)).toEqual(Object.fromEntries(expected));
  expect(outbox.filter((row) => !row.published)).toEqual([]);
  const eventIds = new Set(outbox.map((row) => `evt_${row.id}`));
  const statusOf = new Map(outbox.map((row) => [`evt_${row.id}`, row]));

  const checkStream = (what: string, bodies: { id: string; body: EventBody }[]) => {
    const first = new Map<string, string>();
    for (const { id, body } of bodies) {
      const row = statusOf.get(id);
      expect(row, `${what}: ${id} is an outbox event`).toBeDefined();
      expect(body.id).toBe(id);
      expect(body.type).toBe(`order.${row!.status}`);
      expect(body.order.status).toBe(row!.status);
      expect(body.order.orderId).toBe(row!.order_id);
      const seen = first.get(id);
      if (seen === undefined) first.set(id, JSON.stringify(body));
      else expect(JSON.stringify(body), `${what}: a repeat of ${id} is the same event`).toBe(seen);
    }
    expect(new Set(first.keys()), `${what}: every event, none invented`).toEqual(eventIds);
    return first;
  };
  checkStream(
    'rabbitmq',
    published.map((p) => ({ id: p.messageId ?? '', body: p.body })),
  );
  for (const p of published) expect(p.routingKey).toBe(p.body.type);
  // Per order, the first copy of each event arrives in the order of the changes.
  const arrival = new Map<string, string[]>();
  for (const p of published) {
    const list = arrival.get(p.body.order.orderId) ?? [];
    if (!list.includes(p.body.order.status)) list.push(p.body.order.status);
    arrival.set(p.body.order.orderId, list);
  }
  expect(Object.fromEntries(arrival)).toEqual(Object.fromEntries(expected));
  if (receiver) {
    expect(receiver.unverified).toEqual([]);
    checkStream('webhook', receiver.deliveries);
  }
}
