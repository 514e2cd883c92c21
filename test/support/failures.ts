import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib';
import type { TestEnv } from './env.js';
import type { Config } from '../../src/config.js';
import { startCompensator } from '../../src/compensator/start.js';
import { topology } from '../../src/broker/topology.js';
import type { Answer } from './oracle.js';
import { pool, type Client } from './system.js';

export type RunningCompensator = Awaited<ReturnType<typeof startCompensator>>;

export function startTestCompensator(
  env: TestEnv,
  overrides: Partial<Config> = {},
): Promise<RunningCompensator> {
  return startCompensator(
    { ...env.config, ...overrides },
    env.logger.child({ proc: 'compensator' }),
  );
}

// Reads one sample from a /metrics page; labels not named are ignored. 0 when absent.
export async function metric(
  port: number,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    const match = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/([a-z_]+)="([^"]*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([key, value]) => present[key] === value)) {
      total += Number(match[3]);
    }
  }
  return total;
}

// A test's own AMQP connection to its vhost, for publishing what no Flashline process would.
export async function brokerClient(env: TestEnv) {
  const connection: ChannelModel = await amqp.connect(env.config.amqpUrl);
  const channel: ConfirmChannel = await connection.createConfirmChannel();
  return {
    channel,
    publish: async (exchange: string, routingKey: string, body: Buffer | object) => {
      const content = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
      channel.publish(exchange, routingKey, content, { persistent: true });
      await channel.waitForConfirms();
    },
    publishDeadLetter: async (letter: object) => {
      const content = Buffer.from(JSON.stringify(letter));
      channel.publish(topology.deadLetterExchange, topology.deadLetterRoutingKey, content, {
        persistent: true,
      });
      await channel.waitForConfirms();
    },
    messageCount: async (queue: string) => (await channel.checkQueue(queue)).messageCount,
    close: () => connection.close().catch(() => undefined),
  };
}

// Every buyer presses buy once; at most `concurrency` requests in flight.
export function buyOnce(
  api: Client,
  saleId: number,
  buyers: string[],
  concurrency = 32,
  quantity = 1,
): Promise<Answer[]> {
  return pool(
    buyers.map((buyer) => async (): Promise<Answer> => {
      const answer = await api.purchase(saleId, buyer, { quantity });
      return { status: answer.status, orderId: answer.body?.orderId, buyer, quantity };
    }),
    concurrency,
  );
}

export const buyersNamed = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
