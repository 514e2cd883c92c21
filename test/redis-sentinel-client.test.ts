import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, expect, it } from 'vitest';
import { waitFor } from './support/env.js';
import {
  startSentinelSet,
  stopRedisServers,
  type RedisServer,
  type Sentinels,
} from './support/redis-servers.js';
import { createBullRedis, createRedis, type RedisClient } from '../src/redis/connection.js';

// Whether each sentinel has a client subscribed (the failover detector's +switch-master).
const subscribed = async (sentinels: RedisServer[]) => {
  for (const sentinel of sentinels) {
    const clients = await sentinel.cli('CLIENT', 'LIST').catch(() => '');
    if (!/ sub=[1-9]/.test(clients)) return false;
  }
  return true;
};

const topologyOf = (sentinels: Sentinels, name: string) => ({
  redis: {
    url: 'redis://127.0.0.1:1/0',
    sentinels: sentinels.servers.map((s) => ({ host: '127.0.0.1', port: s.port })),
    sentinelName: name,
    clusterNodes: null,
  },
});

// The clients of src/redis/connection.ts against a primary, a replica and three sentinels of
// the test's own. The sentinel a client asks first stops answering while the primary dies, and
// the two others promote the replica meanwhile: the +switch-master they publish reaches the
// client while it is still waiting on the stopped sentinel. ioredis's SentinelConnector then
// gives up on that connect ("Connection is closed.") and the client ends for good, unless
// connection.ts keeps it going: every later command answered `Connection is closed.`.
// a Sentinel client of src/redis/connection.ts across a failover
const clients: RedisClient[] = [];

// A primary, a replica and three sentinels of the test's own, and a client of each kind
// following them.
async function followedSentinelSet() {
  const set = await startSentinelSet();
  const topology = topologyOf(set.sentinels, set.name);
  const gate = createRedis(topology);
  const bull = createBullRedis(topology);
  clients.push(gate, bull);
  return { ...set, gate, bull };
}

// Until every sentinel has a failover detector subscribed, and a moment more.
async function detectorsSubscribed(sentinels: Sentinels) {
  await waitFor(() => subscribed(sentinels.servers), {
    intervalMs: 100,
    what: 'the failover detectors subscribed',
  });
  await sleep(500);
}

afterEach(async () => {
  for (const client of clients.splice(0)) client.disconnect();
  await stopRedisServers();
});

it('follows the new primary and never ends, while the sentinel it asks stalls', async () => {
  const { primary, replica, name, sentinels, gate, bull } = await followedSentinelSet();
  const ended: string[] = [];
  for (const [label, client] of [
    ['createRedis', gate],
    ['createBullRedis', bull],
  ] as const) {
    client.on('error', () => undefined);
    client.on('end', () => ended.push(label));
    await client.set(`k-${label}`, 'before');
  }
  // Both failover detectors are subscribed (two subscribers on every sentinel would be
  // stricter; one is enough to know the subscriptions are under way).
  await detectorsSubscribed(sentinels);

  // The first sentinel each client asks stalls: its socket accepts, nothing answers.
  const [stalled, ...others] = sentinels.servers;
  stalled!.pause();
  await primary.kill9();
  try {
    // The two others vote and promote the replica; the +switch-master they publish arrives
    // while the clients' reconnect still waits on the stalled sentinel.
    await waitFor(
      async () => {
        for (const sentinel of others) {
          const answer = await sentinel
            .cli('SENTINEL', 'get-master-addr-by-name', name)
            .catch(() => '');
          if (Number(answer.split('\n')[1]) === replica.port) return true;
        }
        return false;
      },
      { timeoutMs: 30_000, intervalMs: 100, what: 'the replica promoted' },
    );
    await waitFor(async () => (await replica.cli('ROLE')).startsWith('master'), {
      what: 'the replica to act as primary',
    });
    await sleep(1000);
  } finally {
    stalled!.resume();
  }

  // Each client writes to the new primary within a few seconds, and none ever ended.
  await expectWritesOnNewPrimary(replica, { createRedis: gate, createBullRedis: bull }, 15_000);
  expect(ended, 'clients that ended').toEqual([]);
});

// A primary that hangs keeps its sockets open: only the sentinels' +switch-master tells the
// client to move (the reason connection.ts follows that message at all).
it("moves off a primary that hangs, on the sentinels' word", async () => {
  const { primary, replica, sentinels, gate, bull } = await followedSentinelSet();
  for (const client of [gate, bull]) {
    client.on('error', () => undefined);
    await client.set('k', 'before');
  }
  await detectorsSubscribed(sentinels);

  primary.pause();
  try {
    await waitFor(async () => (await sentinels.primaryPort()) === replica.port, {
      timeoutMs: 30_000,
      intervalMs: 100,
      what: 'the replica promoted',
    });
    await expectWritesOnNewPrimary(replica, { createRedis: gate, createBullRedis: bull }, 10_000);
  } finally {
    primary.resume();
  }
});

// Each client's write lands on the promoted replica within `timeoutMs`.
async function expectWritesOnNewPrimary(
  replica: RedisServer,
  clients: Record<string, RedisClient>,
  timeoutMs: number,
): Promise<void> {
  for (const [label, client] of Object.entries(clients)) {
    await waitFor(
      async () => (await client.set(`k-${label}`, 'after').catch(() => null)) === 'OK',
      {
        timeoutMs,
        intervalMs: 100,
        what: () => `${label} writing to the new primary (status ${client.status})`,
      },
    );
    expect(await replica.cli('GET', `k-${label}`)).toBe('after');
  }
}
