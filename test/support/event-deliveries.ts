import { waitFor, type TestEnv } from './env.js';
import { assertEventsOracle, outboxRows, readEventsQueue, type Receiver } from './events.js';

// Waits until every event of the sale's outbox is published and the receiver has been
// delivered `count` distinct events (a repeat of an id counts once).
export async function waitForDelivered(
  env: TestEnv,
  saleId: number,
  receiver: Receiver,
  count: number,
  timeoutMs = 30_000,
): Promise<void> {
  const distinct = () => new Set(receiver.deliveries.map((d) => d.id)).size;
  await waitFor(
    async () =>
      (await outboxRows(env, saleId)).every((row) => row.published) && distinct() >= count,
    {
      timeoutMs,
      what: () => `${count} events delivered (have ${distinct()} of ${receiver.deliveries.length})`,
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
