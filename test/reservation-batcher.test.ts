import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { deleteKeys, services } from './support/env.js';
import { Gate } from '../src/gate/gate.js';
import { mintOrderId } from '../src/gate/order-id.js';
import { ReservationBatcher } from '../src/orders/reservation-batcher.js';
import { gateProbe } from './support/gate-probe.js';

// The worker's claims and confirms, batched per event-loop turn, against a real Redis.
// claims and confirms of the jobs a worker runs at once
const prefix = `t_resb_${randomBytes(4).toString('hex')}`;
const options = { prefix, tombstoneTtlSeconds: 3600, idempotencyTtlSeconds: 60 };
let redis: Redis;
let gate: Gate;
let nextSale = 1;

const newSale = async (stock: number) => {
  const id = nextSale++;
  await gate.loadSale({ id, stock, perUserLimit: stock, startsAt: new Date(0), endsAt: null });
  return id;
};
const reserveMany = async (saleId: number, count: number) => {
  const ids = Array.from({ length: count }, () => mintOrderId(saleId));
  for (const orderId of ids) {
    const outcome = await gate.reserve({ saleId, orderId, buyer: 'b', quantity: 1 });
    expect(outcome.kind).toBe('reserved');
  }
  return ids;
};

beforeAll(() => {
  redis = new Redis(services.redis);
  gate = new Gate(redis, options);
});
afterAll(async () => {
  redis.disconnect();
  await deleteKeys(services.redis, `${prefix}:*`);
});

it('answers every call as the gate would, in one script call per sale and batch', async () => {
  const sut = new ReservationBatcher(gate, 64);
  const big = await newSale(200);
  const small = await newSale(5);
  const bigIds = await reserveMany(big, 150);
  const smallIds = await reserveMany(small, 3);
  expect((await gate.release(small, smallIds[2]!, 'publish_failed')).kind).toBe('released');
  const stranger = mintOrderId(small);

  const claimed = await Promise.all([
    ...bigIds.map((id) => sut.claim(big, id)),
    ...[...smallIds, stranger].map((id) => sut.claim(small, id)),
  ]);
  expect(claimed).toEqual([...bigIds.map(() => 'go'), 'go', 'go', 'gone', 'unknown']);
  // 150 orders of one sale in batches of at most 64, and the other sale's four.
  expect(sut.stats.claims).toEqual({ orders: 154, calls: 4 });

  const confirmed = await Promise.all([
    ...bigIds.map((id) => sut.confirm(big, id)),
    sut.confirm(small, smallIds[0]!),
    sut.confirm(small, smallIds[2]!),
  ]);
  expect(confirmed).toEqual([...bigIds.map(() => 'confirmed'), 'confirmed', 'released']);
  expect(sut.stats.confirms).toEqual({ orders: 152, calls: 4 });
  expect(await gateProbe(redis, prefix).inflightCount(big)).toBe(0);
  expect(await gate.remaining(big)).toBe(50);
  // The order nobody confirmed is still being written: it stays committing and in flight.
  expect((await gate.reservation(small, smallIds[1]!))?.state).toBe('committing');
  expect(await gateProbe(redis, prefix).inflightCount(small)).toBe(1);
});

it('fails every call of a batch whose script call failed, and serves the next turn', async () => {
  // Not connected yet and no offline queue: every command fails at once, as in an outage.
  const away = new Redis(services.redis, { lazyConnect: true, enableOfflineQueue: false });
  try {
    const sut = new ReservationBatcher(new Gate(away, options), 64);
    const saleId = await newSale(5);
    const ids = await reserveMany(saleId, 3);

    const during = await Promise.allSettled(ids.map((id) => sut.claim(saleId, id)));
    expect(during.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    for (const id of ids) expect((await gate.reservation(saleId, id))?.state).toBe('pending');

    // Its first command started the connection: Redis is back once it is ready.
    if (away.status !== 'ready') await once(away, 'ready');
    expect(await Promise.all(ids.map((id) => sut.claim(saleId, id)))).toEqual(['go', 'go', 'go']);
  } finally {
    away.disconnect();
  }
});
