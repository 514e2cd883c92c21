import { setTimeout as sleep } from 'node:timers/promises';
import { expect, it } from 'vitest';
import type { OrderEvent } from './event.js';
import { deliverBatch, Slots } from './webhook-batch.js';

const event = (id: number, orderId: string) =>
  ({ id: `evt_${id}`, order: { orderId } }) as unknown as OrderEvent;

it('delivers a batch several at once, an order after its earlier event, and stops at a failure', async () => {
  const events = [event(1, 'a'), event(2, 'b'), event(3, 'a'), event(4, 'c'), event(5, 'b')];
  const sent: string[] = [];
  let inFlight = 0;
  let most = 0;
  const outcome = await deliverBatch(
    events,
    async (e) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      // The first event is the slowest: its order's later one must still come after it.
      await sleep(e.id === 'evt_1' ? 30 : 5);
      inFlight -= 1;
      sent.push(e.id);
    },
    new Slots(3),
  );
  expect(outcome.undelivered).toEqual([]);
  expect(most).toBe(3);
  expect(sent.indexOf('evt_3')).toBeGreaterThan(sent.indexOf('evt_1'));
  expect(sent.indexOf('evt_5')).toBeGreaterThan(sent.indexOf('evt_2'));

  // evt_2 refused: its order's evt_5 is not sent, no launch follows, and the rest is returned.
  const refused = await deliverBatch(
    events,
    async (e) => {
      await sleep(e.id === 'evt_1' ? 20 : 1);
      if (e.id === 'evt_2') throw new Error('503');
    },
    new Slots(2),
  );
  expect(String(refused.failure)).toContain('503');
  expect(refused.undelivered.map((e) => e.id)).toEqual(['evt_2', 'evt_3', 'evt_4', 'evt_5']);
});
