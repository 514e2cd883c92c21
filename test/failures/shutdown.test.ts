import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, waitFor, type TestEnv } from '../support/env.js';
import { client, groupByStatus } from '../support/system.js';
import { assertOracle } from '../support/oracle.js';
import { killAll, spawnProcess, type Child } from '../support/processes.js';
import { buyersNamed, buyOnce } from '../support/buyers.js';

const clean = { code: 0, signal: null };

describe('SIGTERM', () => {
  let env: TestEnv;

  beforeAll(async () => {
    env = await createTestEnv('shutdown');
  });
  afterAll(async () => {
    await killAll();
    await env?.cleanup();
  });

  const stop = async (child: Child) => {
    child.kill('SIGTERM');
    expect(await child.exited, `${child.name} exits cleanly:\n${child.output()}`).toEqual(clean);
    expect(child.logged('draining')).toBeDefined();
    expect(child.logged('stopped')).toBeDefined();
  };

  it('drains every process mid-sale; replacements finish the sale with nothing lost', async () => {
    const processes = ['api', 'bridge', 'worker', 'compensator'].map((name) =>
      spawnProcess(name, env),
    );
    await Promise.all(processes.map((p) => p.ready));
    const [apiProcess, bridge, worker, compensator] = processes as [Child, Child, Child, Child];
    const api = client(`http://127.0.0.1:${String(apiProcess.logged('api listening')?.port)}`, env);

    const sale = await api.createSale({ sku: 'shutdown', name: 'Draining', stock: 200 });
    const saleId = sale.body.id as number;
    const buying = buyOnce(api, saleId, buyersNamed('buyer', 300), 16);
    await waitFor(async () => (await api.sale(saleId)).body.remaining < 180, {
      what: 'the sale under way',
    });
    // The order pipeline stops under load; the API keeps accepting (the broker holds orders).
    await Promise.all([stop(bridge), stop(worker), stop(compensator)]);
    const answers = await buying;
    expect(Object.keys(groupByStatus(answers)).sort()).toEqual(['202', '409']);

    const replacements = ['bridge', 'worker', 'compensator'].map((name) => spawnProcess(name, env));
    await Promise.all(replacements.map((p) => p.ready));
    const oracle = await assertOracle(env, saleId, answers);
    expect(oracle).toMatchObject({ confirmedUnits: 200, failed: 0 });

    // The API holds keep-alive connections from this test's client; it still exits at once.
    await Promise.all([apiProcess, ...replacements].map(stop));
  });
});
