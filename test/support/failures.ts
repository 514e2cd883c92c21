import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib';
import type { TestEnv } from './env.js';
import type { Config } from '../../src/config.js';
import { startCompensator } from '../../src/cmd/wiring/compensator.js';
import { topology } from '../../src/broker/topology.js';
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
