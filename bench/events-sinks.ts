import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import amqp from 'amqplib';
import { topology } from '../src/broker/topology.js';

// Where bench/events.ts's events arrive: a webhook receiver and a RabbitMQ queue bound to the
// events exchange, each recording every event's lag from its status change (occurredAt, the
// database clock of this host) to its arrival.

export type Arrivals = { lags: number[]; ids: Set<string>; reset: () => void };

const arrivals = (): Arrivals => {
  const sink: Arrivals = {
    lags: [],
    ids: new Set(),
    reset: () => {
      sink.lags = [];
      sink.ids.clear();
    },
  };
  return sink;
};

const record = (sink: Arrivals, raw: string) => {
  const event = JSON.parse(raw) as { id: string; occurredAt: string };
  if (sink.ids.has(event.id)) return;
  sink.ids.add(event.id);
  sink.lags.push(Date.now() - Date.parse(event.occurredAt));
};

export async function webhookSink(): Promise<{ url: string; seen: Arrivals; close: () => void }> {
  const seen = arrivals();
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      record(seen, Buffer.concat(chunks).toString('utf8'));
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/events`, seen, close: () => server.close() };
}

export async function brokerSink(url: string) {
  const seen = arrivals();
  const connection = await amqp.connect(url);
  const channel = await connection.createChannel();
  const { queue } = await channel.assertQueue('', { exclusive: true });
  await channel.assertExchange(topology.eventsExchange, 'topic', { durable: true });
  await channel.bindQueue(queue, topology.eventsExchange, 'order.#');
  await channel.prefetch(1000);
  await channel.consume(queue, (message) => {
    if (!message) return;
    record(seen, message.content.toString('utf8'));
    channel.ack(message);
  });
  return { seen, close: () => connection.close() };
}

export function quantiles(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { count: sorted.length, p50: at(0.5), p99: at(0.99), max: sorted.at(-1) ?? 0 };
}
