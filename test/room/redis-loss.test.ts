import { expect, it } from 'vitest';
import { waitFor } from '../support/env.js';
import { assertOracle } from '../support/oracle.js';
import {
  createRoomSale,
  inState,
  joinAll,
  untilTwoAdmitted,
  useRoomSystemOnOwnRedis,
} from '../support/room-line.js';

// Redis forgets the whole line mid-sale (FLUSHALL on a server of the test's own): the ticket
// each buyer holds gives their place back, nobody is sent to the back, and no pass is given
// that the cursor had not earned before the loss (docs/waiting-room.md, "Where it stops / what happens next").
// waiting room: Redis forgets the line
const system = useRoomSystemOnOwnRedis('room-loss');

it('gives every place back from its ticket, in the same order, and sells only to the admitted', async () => {
  const { env, api, room } = system;
  const saleId = await createRoomSale(api, 'loss-1', 100, { admitPerSecond: 1 }, { startsIn: 3 });
  const buyers = Array.from({ length: 12 }, (_, i) => `lb-${i}`);
  const tickets = await joinAll(room, saleId, buyers);
  // Each poll's ticket is the one held from then on: the line is rebuilt from them.
  const { poll, before } = await untilTwoAdmitted(room, saleId, tickets);
  const admittedBefore = inState(before, 'admitted');
  const waitingOrder = [...before]
    .filter(([, p]) => p.state === 'waiting')
    .sort((a, b) => a[1].position! - b[1].position!)
    .map(([buyer]) => buyer);

  expect(await system.redis.cli('FLUSHALL')).toBe('OK');

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
