import { afterAll, beforeAll, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { Gate } from '../../src/gate/gate.js';
import { homeKeys, homeOfBuyer, saleKeys } from '../../src/gate/keys.js';
import { startRedisServer, stopRedisServers, type RedisServer } from '../support/redis-servers.js';
import { gateProbe } from '../support/gate-probe.js';

// Buyers homed on shards (docs/sharded-sales.md): a purchase is one script call on the buyer's
// home shard while it has units, so one hot sale's purchases spread over the shards' slots and
// none of them runs in the sale's own slot. Counted on a Redis of this test's own, where no
// other test's commands mix into INFO commandstats.
// a sale over shards, buyers homed on its shards
let server: RedisServer;
let redis: Redis;
let gate: Gate;
const prefix = 'homes';
const shards = 4;
let nextSale = 1;

const newSale = async (stock: number, perUserLimit: number) => {
  const id = nextSale++;
  await gate.loadSale({
    id,
    stock,
    perUserLimit,
    startsAt: new Date(Date.now() - 1000),
    endsAt: null,
    shards,
  });
  return id;
};
const buy = async (saleId: number, buyer: string) => {
  const orderId = await gate.mintOrderId(saleId, buyer);
  const outcome = await gate.reserve({ saleId, orderId, buyer, quantity: 1 });
  return { orderId, outcome };
};
const probe = () => gateProbe(redis, prefix);
// Script calls Redis ran since the last CONFIG RESETSTAT.
const scriptCalls = async () => {
  const stats = await redis.info('commandstats');
  return [...stats.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)].reduce(
    (sum, m) => sum + Number(m[1]),
    0,
  );
};
const homedOn = (home: number, name: string) => {
  for (let i = 0; ; i++) if (homeOfBuyer(`${name}-${i}`, shards) === home) return `${name}-${i}`;
};

beforeAll(async () => {
  server = await startRedisServer();
  redis = new Redis(server.url);
  gate = new Gate(redis, { prefix, tombstoneTtlSeconds: 3600, idempotencyTtlSeconds: 60 });
});
afterAll(async () => {
  redis?.disconnect();
  await stopRedisServers();
});

it('sells to a buyer whose home has units in one script call, at that home', async () => {
  const saleId = await newSale(400, 2);
  // Every script loaded on this server first, so no NOSCRIPT round trip is counted.
  await buy(await newSale(1, 1), 'warm-up');
  await redis.config('RESETSTAT');

  const buyers = Array.from({ length: 40 }, (_, i) => `buyer-${i}`);
  const bought = await Promise.all(buyers.map((buyer) => buy(saleId, buyer)));
  expect(bought.map((b) => b.outcome.kind)).toEqual(buyers.map(() => 'reserved'));
  expect(await scriptCalls(), 'one script call per purchase').toBe(buyers.length);

  for (const [i, { orderId, outcome }] of bought.entries()) {
    const home = homeOfBuyer(buyers[i]!, shards);
    const k = homeKeys(prefix, saleId, home, shards);
    expect(outcome.kind === 'reserved' && outcome.shard, 'its unit from its home').toBe(home);
    expect(await redis.hget(k.reservation(orderId), 'k')).toBe(String(home));
    expect(await redis.hget(k.ledger, orderId), 'in its home shard ledger').toBe('1');
    expect(await redis.hget(k.held, buyers[i]!)).toBe('1');
  }
  const own = saleKeys(prefix, saleId);
  expect(await redis.exists(own.held, own.inflight), 'nothing of buyers in the sale slot').toBe(0);
  expect(await probe().inflightCount(saleId)).toBe(buyers.length);
  expect(await gate.remaining(saleId)).toBe(400 - buyers.length);
});

it('sells the other shards to buyers of an empty home, within the limit, then SOLD_OUT', async () => {
  // One unit per shard; every buyer is homed on shard 0, which has one.
  const saleId = await newSale(shards, 2);
  const crowd = Array.from({ length: shards }, (_, i) => homedOn(0, `crowd-${i}`));
  const bought = [];
  for (const buyer of crowd) bought.push(await buy(saleId, buyer));
  expect(bought.map((b) => b.outcome.kind)).toEqual(crowd.map(() => 'reserved'));
  const units = bought.map((b) => (b.outcome.kind === 'reserved' ? b.outcome.shard : null));
  expect([...units].sort(), 'one unit from each shard').toEqual([0, 1, 2, 3]);
  expect(await gate.shardRemaining(saleId)).toEqual([0, 0, 0, 0]);
  expect((await buy(saleId, homedOn(0, 'late'))).outcome.kind).toBe('sold_out');
  expect((await buy(saleId, homedOn(2, 'late'))).outcome.kind).toBe('sold_out');
  // The refused allowances went back; the buyers' own stayed at their home.
  for (const buyer of crowd) expect(await probe().heldBy(saleId, buyer)).toBe(1);
  expect(await probe().inflightCount(saleId)).toBe(shards);
});

it('keeps one allowance per buyer, whichever shard their units come from', async () => {
  const saleId = await newSale(40, 2);
  const buyer = homedOn(1, 'limited');
  // Empty the buyer's home, so every unit of theirs comes from another shard.
  const home = homeKeys(prefix, saleId, 1, shards);
  await redis.hset(home.sale, 'remaining', 0);
  const presses = await Promise.all([0, 1, 2, 3, 4].map(() => buy(saleId, buyer)));
  const kinds = presses.map((p) => p.outcome.kind).sort();
  expect(kinds).toEqual([
    'limit_reached',
    'limit_reached',
    'limit_reached',
    'reserved',
    'reserved',
  ]);
  for (const p of presses.filter((p) => p.outcome.kind === 'reserved')) {
    expect(p.outcome.kind === 'reserved' && p.outcome.shard).not.toBe(1);
  }
  expect(await probe().heldBy(saleId, buyer)).toBe(2);
});
