import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stopInTurn } from '../support/stop-in-turn.js';
import { createTestEnv, waitFor, type TestEnv } from '../support/env.js';
import { client, groupByStatus, startSystem, type System } from '../support/system.js';
import { assertOracle } from '../support/oracle.js';
import {
  brokerClient,
  metric,
  startTestCompensator,
  type RunningCompensator,
} from '../support/failures.js';
import { topology } from '../../src/broker/topology.js';
import { buyersNamed, buyOnce } from '../support/buyers.js';

const poison = [
  Buffer.from([0xff, 0xfe, 0x00, 0x13, 0x37]),
  Buffer.from('{"orderId": "not closed'),
  Buffer.from(JSON.stringify({ orderId: 'x', saleId: 'one', quantity: -1 })),
];

describe('poison messages in the order queue', () => {
  let env: TestEnv;
  let system: System;
  let sut: RunningCompensator;
  let broker: Awaited<ReturnType<typeof brokerClient>>;

  beforeAll(async () => {
    env = await createTestEnv('poison');
    system = await startSystem(env);
    sut = await startTestCompensator(env);
    broker = await brokerClient(env);
  });
  afterAll(() => stopInTurn(broker, sut, system, env));

  it('end in the dead-letter queue and are parked once, while the sale flows past them', async () => {
    const api = client(system.baseUrl, env);
    const sale = await api.createSale({ sku: 'poison', name: 'Poisoned', stock: 100 });
    const saleId = sale.body.id as number;

    const buying = buyOnce(api, saleId, buyersNamed('buyer', 150));
    for (const body of poison) {
      await broker.publish(topology.ordersExchange, topology.ordersRoutingKey, body);
    }
    const answers = await buying;
    expect(Object.keys(groupByStatus(answers)).sort()).toEqual(['202', '409']);
    const oracle = await assertOracle(env, saleId, answers);
    expect(oracle.confirmedUnits).toBe(100);

    await waitFor(async () => (await broker.messageCount(topology.parkedQueue)) === poison.length, {
      what: 'every poison message parked',
    });
    // Give a loop, if there were one, time to show itself.
    await sleep(1_000);
    const unparseable = { reason: 'unparseable' };
    expect(
      await metric(system.bridge.metricsPort, 'flashline_bridge_failures_total', unparseable),
    ).toBe(poison.length);
    expect(
      await metric(sut.metricsPort, 'flashline_dead_letters_total', { result: 'parked' }),
    ).toBe(poison.length);
    expect(await broker.messageCount(topology.parkedQueue)).toBe(poison.length);
    expect(await broker.messageCount(topology.ordersQueue)).toBe(0);
    expect(await broker.messageCount(topology.deadLetterQueue)).toBe(0);

    const parked: Buffer[] = [];
    for (let i = 0; i < poison.length; i += 1) {
      const message = await broker.channel.get(topology.parkedQueue, { noAck: true });
      if (!message) throw new Error('parked message missing');
      parked.push(message.content);
      const headers = message.properties.headers ?? {};
      expect(headers['x-parked-reason']).toBe('unparseable');
      // RabbitMQ's own record that the order queue dead-lettered it on the bridge's reject.
      const [death] = headers['x-death'] as { queue: string; reason: string }[];
      expect(death).toMatchObject({ queue: topology.ordersQueue, reason: 'rejected' });
    }
    expect(parked.map((b) => b.toString('hex')).sort()).toEqual(
      poison.map((b) => b.toString('hex')).sort(),
    );
  });
});
