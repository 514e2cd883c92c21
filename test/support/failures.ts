import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib';
import type { TestEnv } from './env.js';
import type { Config } from '../../src/config.js';
import { startCompensator } from '../../src/cmd/wiring/compensator.js';
import { topology } from '../../src/broker/topology.js';
import type { Answer } from './oracle.js';
import { pool, type Client } from './system.js';
import { spawnProcess, type Child } from './processes.js';
import { freePort } from './api-process.js';

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
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"/g)].map((m) => [
        m[1],
        m[2],
      ]),
    );
    if (Object.entries(labels).every(([key, value]) => present[key] === value)) {
      total += Number(match[3]);
    }
  }
  return total;
}

// A test's own AMQP connection to its vhost, for publishing what no Flashline process would.
export async function brokerClient(env: TestEnv) {
  const connection: ChannelModel = await amqp.connect(env.config.amqp.url);
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

export type Press = { buyer: string; quantity?: number; idempotencyKey?: string };

// An answer with when its request was sent and answered, and the headers a client acts on.
export type TimedAnswer = Answer & {
  sentAt: number;
  answeredAt: number;
  code?: string;
  retryAfter: string | null;
};

// Buyers keep pressing buy, `lanes` at a time with `gapMs` between one lane's requests, until
// `stop` is called; press `i` is `next(i)`. A 503 or 429 is followed by a longer pause, as a
// client honouring Retry-After would. A request the API never answers is recorded as status 0.
export function keepBuying(
  api: Client,
  saleId: number,
  next: (i: number) => Press,
  {
    lanes = 4,
    gapMs = 40,
    backoffMs = 100,
  }: { lanes?: number; gapMs?: number; backoffMs?: number } = {},
) {
  const answers: TimedAnswer[] = [];
  let buying = true;
  let pressed = 0;
  const press = async ({ buyer, quantity = 1, idempotencyKey }: Press): Promise<TimedAnswer> => {
    const sentAt = Date.now();
    const headers: Record<string, string> =
      idempotencyKey === undefined ? {} : { 'idempotency-key': idempotencyKey };
    const answer = await api.purchase(saleId, buyer, { quantity }, headers).catch(() => null);
    const timed: TimedAnswer = {
      status: answer?.status ?? 0,
      orderId: answer?.body?.orderId as string | undefined,
      code: answer?.body?.error?.code as string | undefined,
      buyer,
      quantity,
      ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
      sentAt,
      answeredAt: Date.now(),
      retryAfter: answer?.headers.get('retry-after') ?? null,
    };
    answers.push(timed);
    return timed;
  };
  const running = Array.from({ length: lanes }, async () => {
    while (buying) {
      const answer = await press(next(pressed++));
      const wait = answer.status === 503 || answer.status === 429 ? backoffMs : gapMs;
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  });
  return {
    answers,
    // One more press outside the lanes (a retry), recorded with the others.
    press,
    accepted: (sentAfter = 0) =>
      answers.filter((a) => a.status === 202 && a.sentAt > sentAfter).length,
    tally: () =>
      JSON.stringify(
        Object.fromEntries(
          Object.entries(
            answers.reduce<Record<string, number>>((counts, a) => {
              const label = a.code ? `${a.status} ${a.code}` : String(a.status);
              counts[label] = (counts[label] ?? 0) + 1;
              return counts;
            }, {}),
          ).sort(),
        ),
      ),
    stop: async () => {
      buying = false;
      await Promise.all(running);
      return answers;
    },
  };
}

// A child's "ready", or a failure naming it and its last lines after `timeoutMs`.
export async function readyWithin(child: Child, timeoutMs = 30_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${child.name} not ready within ${timeoutMs} ms:\n${child.output()}`)),
      timeoutMs,
    );
  });
  try {
    await Promise.race([child.ready, late]);
  } finally {
    clearTimeout(timer);
  }
}

// The whole pipeline as child processes (the Procfile's commands) on one test environment,
// so nothing shares a Redis connection with the test; `overrides` go to every process.
export async function spawnPipeline(
  env: TestEnv,
  overrides: Record<string, string> = {},
  readyMs = 30_000,
) {
  const port = await freePort();
  const api = spawnProcess('api', env, { ...overrides, PORT: String(port) });
  const bridge = spawnProcess('bridge', env, overrides);
  const worker = spawnProcess('worker', env, overrides);
  const compensator = spawnProcess('compensator', env, overrides);
  await Promise.all([api, bridge, worker, compensator].map((child) => readyWithin(child, readyMs)));
  return { baseUrl: `http://127.0.0.1:${port}`, api, bridge, worker, compensator };
}

// Short repair timings, so that a run settles in seconds rather than BullMQ's 30 s.
export const settleFast: Record<string, string> = {
  RECONCILE_INTERVAL_MS: '500',
  RECONCILE_STALE_AFTER_MS: '5000',
  WORKER_LOCK_DURATION_MS: '2000',
  WORKER_STALLED_INTERVAL_MS: '1000',
};

// Press i of a sale rush: most buyers press once, half of them with an Idempotency-Key; every
// tenth press is a buyer's second unit, and every tenth a retry of a key pressed before.
export function pressOf(i: number): Press {
  if (i % 10 === 9) return pressOf(i - 9);
  if (i % 10 === 3) return { buyer: `buyer-${i - 3}`, idempotencyKey: `k-${i}` };
  return { buyer: `buyer-${i}`, ...(i % 2 === 0 ? { idempotencyKey: `k-${i}` } : {}) };
}
