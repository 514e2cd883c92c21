import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createTestEnv, type TestEnv } from '../support/env.js';
import { client, type Client } from '../support/system.js';
import { assertPaymentOracle, payWebhook, sql } from '../support/payments.js';
import { keepBuying } from '../support/buyers.js';
import { createSaleOk } from '../support/sales.js';
import { expectEventsDelivered } from '../support/event-deliveries.js';
import { readyWithin, settleFast, spawnPipeline } from '../support/failures.js';
import { killAll, spawnProcess, type Child } from '../support/processes.js';
import {
  startRabbitCluster,
  type RabbitCluster,
  type RabbitNode,
} from '../support/rabbit-cluster.js';
import {
  bindEventsQueue,
  expectedStatuses,
  startReceiver,
  type Receiver,
} from '../support/events.js';

const secret = `whsec_${Buffer.from('flashline-test-events-faults').toString('base64')}`;
// Issue #25, item 6: every status change makes exactly one event with a stable id while the
// relay (SIGKILL), RabbitMQ (a node of this test's own, stopped and started) and the webhook
// receiver (stopped, then refusing) each fail mid-sale. Orders are confirmed, paid, cancelled,
// expired and failed (FAULT_FAIL_RATE) meanwhile, so every writer of a status is covered.
// order events through a relay kill, a broker stop and a receiver outage
let rabbit: RabbitCluster;
let node: RabbitNode;
let receiver: Receiver;
let env: TestEnv;
let api: Client;
let baseUrl: string;
let events: Child;

beforeAll(async () => {
  rabbit = await startRabbitCluster(1);
  node = rabbit.nodes[0]!;
  receiver = await startReceiver(secret);
  env = await createTestEnv('evfaults', {
    ...settleFast,
    AMQP_URL: node.url(),
    PUBLISH_TIMEOUT_MS: '2000',
    RECONCILE_STALE_AFTER_MS: '30000',
    FAULT_FAIL_RATE: '0.05',
    EVENTS_WEBHOOK_URL: receiver.url,
    EVENTS_WEBHOOK_SECRET: secret,
    // Retries come within seconds however long the outage, so the test ends soon after.
    EVENTS_WEBHOOK_MAX_DELAY_SECONDS: '2',
  });
  await bindEventsQueue(node.url());
  const pipeline = await spawnPipeline(env, {}, 90_000);
  baseUrl = pipeline.baseUrl;
  api = client(baseUrl, env);
  // The first relay dies after publishing its first batch, before marking it.
  events = spawnProcess('events', env, { FAULT_KILL_AFTER_EVENTS_PUBLISH: '1' });
  await readyWithin(events, 90_000);
});
afterAll(async () => {
  await killAll();
  await receiver?.stop();
  await env?.cleanup();
  await rabbit?.stop();
});

// Pays every third confirmed order and cancels every third, as they confirm.
function settleOrders(saleId: number) {
  const acted = new Set<string>();
  let running = true;
  const loop = (async () => {
    while (running) {
      const rows = await sql<{ id: string; user_id: string }>(
        env,
        "SELECT id, user_id FROM orders WHERE sale_id = $1 AND status = 'confirmed' ORDER BY id",
        [saleId],
      ).catch(() => []);
      for (const row of rows) {
        if (acted.has(row.id)) continue;
        acted.add(row.id);
        const turn = acted.size % 3;
        if (turn === 0) await payWebhook(baseUrl, env, row.id, `pay-${row.id}`).catch(() => null);
        if (turn === 1) {
          await api
            .raw('POST', `/orders/${row.id}/cancel`, api.buyerHeaders(row.user_id))
            .catch(() => null);
        }
      }
      await sleep(100);
    }
  })();
  return async () => {
    running = false;
    await loop;
  };
}

it('delivers every event exactly once by id, in order per order, signed', async () => {
  const sale = { sku: 'events-faults', name: 'Events under faults', stock: 250 };
  const saleId = await createSaleOk(api, { ...sale, paymentWindowSeconds: 10 });
  receiver.refuseNext(Number.POSITIVE_INFINITY, 503);
  const buying = keepBuying(api, saleId, (i) => ({ buyer: `evf-${i}` }), { lanes: 4, gapMs: 30 });
  const stopSettling = settleOrders(saleId);

  // The relay, killed between a batch's publish and its marks, and another in its place.
  const killed = await events.exited;
  expect(killed.signal).toBe('SIGKILL');
  // Until then the receiver refuses: the killed process's webhook worker may have posted that
  // batch's job while the relay waited for RabbitMQ's confirms, and a delivery the kill left
  // unanswered is sent again (at least once, API.md), which would hide the repeat this test
  // is about. The second of waiting lets a post sent before the kill reach the receiver.
  await sleep(1000);
  receiver.refuseNext(0);
  events = spawnProcess('events', env);
  await readyWithin(events, 90_000);

  // RabbitMQ stopped: purchases answer 503 meanwhile, and the relay cannot publish.
  await sleep(2000);
  await node.stop();
  await sleep(3000);
  await node.start();

  // The receiver gone (connections refused), then back but refusing a while.
  await sleep(2000);
  await receiver.stop();
  await sleep(3000);
  await receiver.start();
  receiver.refuseNext(20, 503);
  await sleep(2000);

  const answers = await buying.stop();
  await stopSettling();
  expect(answers.filter((a) => a.status === 202).length, buying.tally()).toBeGreaterThan(50);
  await assertPaymentOracle(env, saleId, answers, { windowsClosed: true, timeoutMs: 90_000 });

  const expected = await expectedStatuses(env, saleId);
  const statuses = new Set([...expected.values()].flat());
  expect([...statuses].sort(), 'every kind of change happened').toEqual([
    'cancelled',
    'confirmed',
    'expired',
    'failed',
    'paid',
  ]);
  const changes = [...expected.values()].flat().length;
  const published = await expectEventsDelivered(env, saleId, expected, {
    receiver,
    amqpUrl: node.url(),
    timeoutMs: 60_000,
  });
  // How many repeats the faults caused (each with its event's id), for the log.
  console.log(
    `events ${changes}, on RabbitMQ ${published.length}, webhooks ${receiver.deliveries.length}; ${buying.tally()}`,
  );
  // The killed relay's batch went out twice, with the same ids; its webhooks only once.
  expect(published.length).toBeGreaterThan(new Set(published.map((p) => p.messageId)).size);
  const twice = receiver.deliveries.filter((d, i, all) => all.findIndex((e) => e.id === d.id) < i);
  expect(receiver.deliveries.length, `repeated: ${twice.map((d) => d.id).join(' ')}`).toBe(changes);
}, 300_000);
