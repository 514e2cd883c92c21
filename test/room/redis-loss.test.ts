import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, waitFor, type TestEnv } from '../support/env.js';
import { client, startSystem, type System } from '../support/system.js';
import { assertOracle } from '../support/oracle.js';
import { fastRoom, inSeconds, roomClient } from '../support/room.js';
import { startRedisServer, stopRedisServers, type RedisServer } from '../support/redis-servers.js';

type Place = { state: string; position: number | null; pass?: string; ticket: string };

// Redis forgets the whole line mid-sale (FLUSHALL on a server of the test's own): the ticket
// each buyer holds gives their place back, nobody is sent to the back, and no pass is given
// that the cursor had not earned before the loss (docs/waiting-room.md, "When Redis forgets").
describe('waiting room: Redis forgets the line', () => {
  let env: TestEnv;
  let redis: RedisServer;
  let sut: System;

  beforeAll(async () => {
    redis = await startRedisServer();
    env = await createTestEnv('room-loss', { ...fastRoom, REDIS_URL: redis.url });
    sut = await startSystem(env);
  });
  afterAll(async () => {
    await sut?.stop();
    await stopRedisServers();
    await env?.cleanup();
  });

  it('gives every place back from its ticket, in the same order, and sells only to the admitted', async () => {
    const api = client(sut.baseUrl, env);
    const room = roomClient(api);
    const saleId = (
      await api.createSale({
        sku: 'loss-1',
        name: 'L',
        stock: 100,
        startsAt: inSeconds(3),
        waitingRoom: { admitPerSecond: 1 },
      })
    ).body.id as number;
    const buyers = Array.from({ length: 12 }, (_, i) => `lb-${i}`);
    const tickets = new Map<string, string>();
    for (const buyer of buyers) tickets.set(buyer, (await room.join(saleId, buyer)).body.ticket);
    const poll = async () => {
      const all = new Map<string, Place>();
      for (const buyer of buyers) {
        const answer = await room.poll(saleId, buyer, tickets.get(buyer));
        expect(answer.status, `${buyer} after ${answer.body.error?.code}`).toBe(200);
        all.set(buyer, answer.body as Place);
        tickets.set(buyer, answer.body.ticket as string);
      }
      return all;
    };
    const before = await waitFor(
      async () => {
        const all = await poll();
        return [...all.values()].filter((p) => p.state === 'admitted').length >= 2 && all;
      },
      { what: 'two admitted' },
    );
    const admittedBefore = [...before].filter(([, p]) => p.state === 'admitted').map(([b]) => b);
    const waitingOrder = [...before]
      .filter(([, p]) => p.state === 'waiting')
      .sort((a, b) => a[1].position! - b[1].position!)
      .map(([buyer]) => buyer);

    expect(await redis.cli('FLUSHALL')).toBe('OK');

    // Every buyer still has their place: the admitted their pass, the others their order.
    const after = await poll();
    for (const buyer of admittedBefore) expect(after.get(buyer)!.state, buyer).toBe('admitted');
    const stillWaiting = waitingOrder.filter((b) => after.get(b)!.state === 'waiting');
    const positions = stillWaiting.map((b) => after.get(b)!.position!);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    // Once rebuilt: no one but the buyers at the front was admitted meanwhile (1 a second).
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const rebuilt = await poll();
    const admittedNow = buyers.filter((b) => rebuilt.get(b)!.state === 'admitted');
    const allowed = new Set([...admittedBefore, ...waitingOrder.slice(0, 4)]);
    for (const buyer of admittedNow) expect(allowed.has(buyer), buyer).toBe(true);
    const order = waitingOrder.filter((b) => rebuilt.get(b)!.state === 'waiting');
    expect(order.map((b) => rebuilt.get(b)!.position)).toEqual(order.map((_, i) => i + 1));

    // The tickets' polls put the buyers back in Redis too: a poll without the ticket finds them.
    const bare = await room.poll(saleId, order[0]!);
    expect(bare.status).toBe(200);
    expect(bare.body.position).toBe(1);

    // A newcomer lines up behind all of them.
    const late = await room.join(saleId, 'late');
    expect(late.body.position).toBe(order.length + 1);

    // An admitted buyer buys once the sale is loaded back (503 until then, never 404).
    const buyer = admittedBefore[0]!;
    const bought = await waitFor(
      async () => {
        const answer = await room.buy(saleId, buyer, rebuilt.get(buyer)!.pass);
        expect([202, 503]).toContain(answer.status);
        return answer.status === 202 && answer;
      },
      { what: 'a purchase after the loss' },
    );
    await assertOracle(env, saleId, [
      { status: 202, orderId: bought.body.orderId, buyer, quantity: 1 },
    ]);
  });
});
