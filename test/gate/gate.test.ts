import { afterAll, beforeAll, expect, it } from 'vitest';
import { deleteRunKeys, runRedis } from '../support/env.js';
import { Gate } from '../../src/gate/gate.js';
import { saleKeys } from '../../src/gate/keys.js';
import { mintOrderId } from '../../src/gate/order-id.js';
import type { RedisClient } from '../../src/redis/connection.js';
import { gateProbe, type GateProbe } from '../support/gate-probe.js';
import { randomBytes } from 'node:crypto';

// The Lua scripts against a real Redis (the cluster of a cluster run), under a key prefix of
// this run only.
// the Lua gatekeeper
const prefix = `t_gate_${randomBytes(4).toString('hex')}`;
let redis: RedisClient;
let sut: Gate;
let probe: GateProbe;
let nextSale = 1;

const newSale = async (
  stock: number,
  perUserLimit = 1,
  window: { startsAt?: Date; endsAt?: Date | null } = {},
) => {
  const id = nextSale++;
  await sut.loadSale({
    id,
    stock,
    perUserLimit,
    startsAt: window.startsAt ?? new Date(Date.now() - 1000),
    endsAt: window.endsAt ?? null,
  });
  return id;
};
const reserve = (saleId: number, buyer: string, quantity = 1, idempotencyKey?: string) => {
  const orderId = mintOrderId(saleId);
  return sut
    .reserve({ saleId, orderId, buyer, quantity, idempotencyKey })
    .then((outcome) => ({ orderId, outcome }));
};

beforeAll(() => {
  redis = runRedis();
  sut = new Gate(redis, { prefix, tombstoneTtlSeconds: 3600, idempotencyTtlSeconds: 60 });
  probe = gateProbe(redis, prefix);
});
afterAll(async () => {
  redis.disconnect();
  await deleteRunKeys(`${prefix}:*`);
});

it('lets exactly 100 of 1,000 concurrent reservations through on 100 units', async () => {
  const saleId = await newSale(100);
  // Separate connections, so the calls really interleave at the server.
  const clients = Array.from({ length: 10 }, () => runRedis());
  const connections = clients.map(
    (client) =>
      new Gate(client, {
        prefix,
        tombstoneTtlSeconds: 3600,
        idempotencyTtlSeconds: 60,
      }),
  );
  const results = await Promise.all(
    Array.from({ length: 1000 }, (_, i) =>
      connections[i % 10]!.reserve({
        saleId,
        orderId: mintOrderId(saleId),
        buyer: `b${i}`,
        quantity: 1,
      }),
    ),
  );
  for (const client of clients) client.disconnect();
  expect(results.filter((r) => r.kind === 'reserved')).toHaveLength(100);
  expect(results.filter((r) => r.kind === 'sold_out')).toHaveLength(900);
  expect(await sut.remaining(saleId)).toBe(0);
  expect(await probe.inflightCount(saleId)).toBe(100);
});

it('never sells the last unit twice (no off-by-one at zero)', async () => {
  const saleId = await newSale(1);
  const first = await reserve(saleId, 'a');
  const second = await reserve(saleId, 'b');
  expect(first.outcome.kind).toBe('reserved');
  expect(second.outcome.kind).toBe('sold_out');
  expect(await sut.remaining(saleId)).toBe(0);
});

it('refuses a quantity larger than what is left without taking anything', async () => {
  const saleId = await newSale(3, 5);
  expect((await reserve(saleId, 'a', 4)).outcome.kind).toBe('sold_out');
  expect(await sut.remaining(saleId)).toBe(3);
  expect((await reserve(saleId, 'a', 3)).outcome).toMatchObject({
    kind: 'reserved',
    remaining: 0,
  });
});

it('holds a buyer to the per-user limit across requests, and checks it before taking stock', async () => {
  const saleId = await newSale(10, 2);
  expect((await reserve(saleId, 'a', 1)).outcome.kind).toBe('reserved');
  expect((await reserve(saleId, 'a', 2)).outcome.kind).toBe('limit_reached');
  expect(await sut.remaining(saleId)).toBe(9);
  expect((await reserve(saleId, 'a', 1)).outcome.kind).toBe('reserved');
  expect((await reserve(saleId, 'a', 1)).outcome.kind).toBe('limit_reached');
  expect((await reserve(saleId, 'b', 3)).outcome.kind).toBe('quantity_over_limit');
  expect(await sut.remaining(saleId)).toBe(8);
  expect(await probe.heldBy(saleId, 'a')).toBe(2);
});

it('answers not_found, not_started and ended without writing', async () => {
  expect((await reserve(999_999, 'a')).outcome.kind).toBe('not_found');
  const future = await newSale(5, 1, { startsAt: new Date(Date.now() + 60_000) });
  expect((await reserve(future, 'a')).outcome.kind).toBe('not_started');
  const past = await newSale(5, 1, {
    startsAt: new Date(Date.now() - 60_000),
    endsAt: new Date(Date.now() - 1000),
  });
  expect((await reserve(past, 'a')).outcome.kind).toBe('ended');
  expect(await sut.remaining(future)).toBe(5);
  expect(await sut.remaining(past)).toBe(5);
  expect(await redis.exists(saleKeys(prefix, 999_999).sale)).toBe(0);
});

it('releases exactly once: a second release changes nothing', async () => {
  const saleId = await newSale(5, 2);
  const { orderId } = await reserve(saleId, 'a', 2);
  expect(await sut.remaining(saleId)).toBe(3);
  expect(await sut.release(saleId, orderId, 'test')).toEqual({ kind: 'released', remaining: 5 });
  expect(await sut.release(saleId, orderId, 'test')).toEqual({ kind: 'already_released' });
  expect(await sut.release(saleId, orderId, 'test', { force: true })).toEqual({
    kind: 'already_released',
  });
  expect(await sut.remaining(saleId)).toBe(5);
  expect(await probe.heldBy(saleId, 'a')).toBe(0);
  expect(await probe.inflightCount(saleId)).toBe(0);
  expect((await sut.reservation(saleId, orderId))?.state).toBe('released');
});

it('follows the DESIGN.md state table through claim, confirm and release', async () => {
  const saleId = await newSale(5);
  const { orderId } = await reserve(saleId, 'a');
  expect(await sut.claim(saleId, orderId)).toBe('go');
  // A worker crashed and the job runs again: claim is repeatable.
  expect(await sut.claim(saleId, orderId)).toBe('go');
  // The publisher's release must not take back an order a worker is writing.
  expect(await sut.release(saleId, orderId, 'publish_failed')).toEqual({ kind: 'in_progress' });
  expect(await sut.confirm(saleId, orderId)).toBe('confirmed');
  expect(await sut.confirm(saleId, orderId)).toBe('already_confirmed');
  expect(await sut.claim(saleId, orderId)).toBe('confirmed');
  expect(await sut.release(saleId, orderId, 'late', { force: true })).toEqual({
    kind: 'confirmed',
  });
  expect(await sut.remaining(saleId)).toBe(4);
  expect(await probe.inflightCount(saleId)).toBe(0);
  expect(await redis.ttl(saleKeys(prefix, saleId).reservation(orderId))).toBeGreaterThan(0);
});

it('lets a forced release return a committing reservation, after which claim answers gone', async () => {
  const saleId = await newSale(5);
  const { orderId } = await reserve(saleId, 'a');
  expect(await sut.claim(saleId, orderId)).toBe('go');
  expect(await sut.release(saleId, orderId, 'failed', { force: true })).toEqual({
    kind: 'released',
    remaining: 5,
  });
  expect(await sut.claim(saleId, orderId)).toBe('gone');
  expect(await sut.confirm(saleId, orderId)).toBe('released');
  expect(await sut.remaining(saleId)).toBe(5);
});

it('claims and confirms many reservations of one sale in one call, each as alone', async () => {
  const saleId = await newSale(10, 5);
  const orders = await Promise.all(['a', 'b', 'c', 'd'].map((buyer) => reserve(saleId, buyer)));
  const [pending, committing, released, confirmed] = orders.map((o) => o.orderId) as [
    string,
    string,
    string,
    string,
  ];
  const unknown = mintOrderId(saleId);
  expect(await sut.claim(saleId, committing)).toBe('go');
  expect((await sut.release(saleId, released, 'publish_failed')).kind).toBe('released');
  expect(await sut.claim(saleId, confirmed)).toBe('go');
  expect(await sut.confirm(saleId, confirmed)).toBe('confirmed');
  const all = [pending, committing, released, confirmed, unknown];

  expect(await sut.claimMany(saleId, all)).toEqual(['go', 'go', 'gone', 'confirmed', 'unknown']);
  expect((await sut.reservation(saleId, pending))?.state).toBe('committing');
  expect(await sut.release(saleId, pending, 'late')).toEqual({ kind: 'in_progress' });
  expect(await sut.confirmMany(saleId, all)).toEqual([
    'confirmed',
    'confirmed',
    'released',
    'already_confirmed',
    'unknown',
  ]);
  // Repeatable, as after a crash between the call and its answer.
  expect(await sut.confirmMany(saleId, all)).toEqual([
    'already_confirmed',
    'already_confirmed',
    'released',
    'already_confirmed',
    'unknown',
  ]);
  expect(await sut.claimMany(saleId, [])).toEqual([]);
  expect(await sut.confirmMany(saleId, [])).toEqual([]);
  expect(await sut.remaining(saleId)).toBe(7);
  expect(await probe.inflightCount(saleId)).toBe(0);
  for (const orderId of [pending, committing]) {
    expect((await sut.reservation(saleId, orderId))?.state).toBe('confirmed');
    expect(await redis.ttl(saleKeys(prefix, saleId).reservation(orderId))).toBeGreaterThan(0);
  }
});

it('answers gone to a claim after the publisher released the reservation', async () => {
  const saleId = await newSale(5);
  const { orderId } = await reserve(saleId, 'a');
  expect((await sut.release(saleId, orderId, 'publish_failed')).kind).toBe('released');
  expect(await sut.claim(saleId, orderId)).toBe('gone');
  expect(await sut.claim(saleId, mintOrderId(saleId))).toBe('unknown');
});

it('replays the first order for a repeated Idempotency-Key, atomically', async () => {
  const saleId = await newSale(100, 5);
  const attempts = await Promise.all(
    Array.from({ length: 20 }, () => reserve(saleId, 'a', 1, 'key-1')),
  );
  const reserved = attempts.filter((a) => a.outcome.kind === 'reserved');
  expect(reserved).toHaveLength(1);
  const firstOrder = reserved[0]!.orderId;
  for (const attempt of attempts) {
    if (attempt.outcome.kind === 'replayed') expect(attempt.outcome.orderId).toBe(firstOrder);
    else expect(attempt.orderId).toBe(firstOrder);
  }
  expect(await sut.remaining(saleId)).toBe(99);
  // The same key from another buyer is another request.
  expect((await reserve(saleId, 'b', 1, 'key-1')).outcome.kind).toBe('reserved');
});

it('loads a sale idempotently: loading again never resets stock already taken', async () => {
  const saleId = await newSale(10);
  await reserve(saleId, 'a');
  expect(
    await sut.loadSale({
      id: saleId,
      stock: 10,
      perUserLimit: 1,
      startsAt: new Date(0),
      endsAt: null,
    }),
  ).toBe(false);
  expect(await sut.remaining(saleId)).toBe(9);
});

it('lets only the holder of the load lock release it', async () => {
  const saleId = await newSale(1);
  expect(await sut.lockLoad(saleId, 'a', 60_000)).toBe(true);
  expect(await sut.lockLoad(saleId, 'b', 60_000)).toBe(false);
  await sut.unlockLoad(saleId, 'b');
  expect(await redis.get(saleKeys(prefix, saleId).loadLock)).toBe('a');
  await sut.unlockLoad(saleId, 'a');
  expect(await sut.lockLoad(saleId, 'b', 60_000)).toBe(true);
});

it('repairs remaining only while the sale is as the reading saw it', async () => {
  const saleId = await newSale(10);
  const seen = (await sut.saleSnapshot(saleId))!;
  expect(seen).toEqual({ remaining: 10, inflight: [] });
  await reserve(saleId, 'a');
  expect(await sut.repairRemaining(saleId, seen, { remaining: 7, stock: 10 })).toBe(false);
  expect(await sut.remaining(saleId)).toBe(9);
  const now = (await sut.saleSnapshot(saleId))!;
  expect(await sut.repairRemaining(saleId, now, { remaining: 7, stock: 10 })).toBe(true);
  expect(await sut.remaining(saleId)).toBe(7);
});

it('keeps remaining == stock - held units through any mix of operations', async () => {
  const saleId = await newSale(50, 3);
  const live: string[] = [];
  for (let i = 0; i < 300; i++) {
    const roll = (i * 7919) % 10;
    if (roll < 6 || live.length === 0) {
      const r = await reserve(saleId, `u${i % 23}`, 1 + (i % 3));
      if (r.outcome.kind === 'reserved') live.push(r.orderId);
    } else if (roll < 8) {
      await sut.release(saleId, live.shift()!, 'test');
    } else {
      const orderId = live.shift()!;
      await sut.claim(saleId, orderId);
      await sut.confirm(saleId, orderId);
    }
  }
  const held = Object.values(await redis.hgetall(saleKeys(prefix, saleId).held)).reduce(
    (sum, units) => sum + Number(units),
    0,
  );
  expect((await sut.remaining(saleId))! + held).toBe(50);
});
