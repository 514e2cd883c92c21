import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stopInTurn } from '../support/stop-in-turn.js';
import { createTestEnv, type TestEnv } from '../support/env.js';
import { client, groupByStatus } from '../support/system.js';
import { assertOracle } from '../support/oracle.js';
import { metric, startTestCompensator, type RunningCompensator } from '../support/failures.js';
import { startApi, type RunningApi } from '../../src/cmd/wiring/api.js';
import { startBridge } from '../../src/cmd/wiring/bridge.js';
import { startWorker } from '../../src/cmd/wiring/worker.js';
import { buyersNamed, buyOnce } from '../support/buyers.js';

describe('FAULT_FAIL_RATE=0.2 during a sale', () => {
  let env: TestEnv;
  let api: RunningApi;
  let bridge: Awaited<ReturnType<typeof startBridge>>;
  let compensator: RunningCompensator;
  let worker: Awaited<ReturnType<typeof startWorker>> | undefined;

  beforeAll(async () => {
    env = await createTestEnv('fault-rate', { FAULT_FAIL_RATE: '0.2' });
    api = await startApi(env.config, env.logger);
    bridge = await startBridge(env.config, env.logger);
    compensator = await startTestCompensator(env);
  });
  afterAll(() => stopInTurn(worker, compensator, bridge, api, env));

  it('fails about a fifth of the orders with their stock back, and sells exactly that stock again', async () => {
    const buyers = client(`http://127.0.0.1:${api.port}`, env);
    const sale = await buyers.createSale({ sku: 'fault-rate', name: 'Faulty', stock: 100 });
    const saleId = sale.body.id as number;
    worker = await startWorker(env.config, env.logger);

    // One unit for each of 100 buyers: every one is accepted, so whatever fails stays unsold.
    const answers = await buyOnce(buyers, saleId, buyersNamed('first', 100));
    expect(groupByStatus(answers)['202']).toHaveLength(100);
    const first = await assertOracle(env, saleId, answers);
    // Binomial(100, 0.2): 5..40 is more than three and a half deviations either side.
    expect(first.failed, 'about a fifth of the orders were made to fail').toBeGreaterThanOrEqual(5);
    expect(first.failed).toBeLessThanOrEqual(40);
    expect(first.confirmedUnits + first.failed).toBe(100);

    for (const answer of answers) {
      const order = await buyers.order(answer.orderId!, answer.buyer);
      expect(order.body.status).toMatch(/^(confirmed|failed)$/);
      if (order.body.status === 'failed') expect(order.body.reason).toBe('fault_injected');
    }
    const returned = first.failed;
    expect((await buyers.sale(saleId)).body.remaining).toBe(returned);
    const port = compensator.metricsPort;
    expect(await metric(port, 'flashline_dead_letters_total', { result: 'returned' })).toBe(
      returned,
    );
    expect(await metric(port, 'flashline_stock_returned_units_total')).toBe(returned);
    expect(await metric(port, 'flashline_dead_letters_total', { result: 'parked' })).toBe(0);

    // Fault injection off: fresh buyers get exactly the returned units, no more.
    await worker.stop();
    worker = await startWorker(
      { ...env.config, fault: { ...env.config.fault, failRate: 0 } },
      env.logger,
    );
    const fresh = await buyOnce(buyers, saleId, buyersNamed('fresh', returned + 10));
    const byStatus = groupByStatus(fresh);
    expect(byStatus['202']).toHaveLength(returned);
    expect(byStatus['409']).toHaveLength(10);

    const after = await assertOracle(env, saleId, [...answers, ...fresh]);
    expect(after.confirmedUnits).toBe(100);
    expect((await buyers.sale(saleId)).body).toMatchObject({ remaining: 0, soldOut: true });
  });
});
