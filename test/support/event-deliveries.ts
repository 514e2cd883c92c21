import { waitFor, type TestEnv } from './env.js';
import { assertEventsOracle, outboxRows, readEventsQueue, type Receiver } from './events.js';
import { eventId } from '../../src/events/event.js';

// Waits until every event of the sale's outbox is published and the receiver has been
// delivered `count` distinct events (a repeat of an id counts once).
export async function waitForDelivered(
  env: TestEnv,
  saleId: number,
  receiver: Receiver,
  count: number,
  timeoutMs = 30_000,
): Promise<void> {
  // What the last check found, for a timeout to say which side stalled: rows never written,
  // rows written and not published, or events published and not delivered.
  let seen = { distinct: 0, rows: 0, unpublished: 0, undelivered: [] as string[] };
  await waitFor(
    async () => {
      const rows = await outboxRows(env, saleId);
      const got = new Set(receiver.deliveries.map((d) => d.id));
      seen = {
        distinct: got.size,
        rows: rows.length,
        unpublished: rows.filter((row) => !row.published).length,
        undelivered: rows.map((row) => eventId(row.id)).filter((id) => !got.has(id)),
      };
      return seen.unpublished === 0 && seen.distinct >= count;
    },
    {
      timeoutMs,
      what: () =>
        `${count} events delivered (have ${seen.distinct} of ${receiver.deliveries.length}; ` +
        `outbox ${seen.rows} rows, ${seen.unpublished} unpublished, ` +
        `not delivered: ${seen.undelivered.slice(0, 10).join(' ') || 'none'})`,
    },
  );
}

// The end of an events test: once the `expected` changes (expectedStatuses) are all published
// and delivered, the events oracle over the sale's outbox, what the test's queue read from
// RabbitMQ at `amqpUrl` and the receiver's deliveries. Answers what was read from RabbitMQ.
export async function expectEventsDelivered(
  env: TestEnv,
  saleId: number,
  expected: Map<string, string[]>,
  { receiver, amqpUrl, timeoutMs }: { receiver: Receiver; amqpUrl: string; timeoutMs?: number },
) {
  await waitForDelivered(env, saleId, receiver, [...expected.values()].flat().length, timeoutMs);
  const published = await readEventsQueue(amqpUrl);
  assertEventsOracle(expected, await outboxRows(env, saleId), published, receiver);
  return published;
}
