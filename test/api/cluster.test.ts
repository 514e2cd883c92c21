import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, waitFor, type TestEnv } from '../support/env.js';
import { client, groupByStatus } from '../support/system.js';
import { spawnApi, type ApiProcess } from '../support/api-process.js';
import { assertOracle } from '../support/oracle.js';
import { startBridge } from '../../src/cmd/wiring/bridge.js';
import { startWorker } from '../../src/cmd/wiring/worker.js';
import { buyersNamed, buyOnce } from '../support/buyers.js';

const run = promisify(execFile);

// The API processes a cluster primary runs: its children, by pid.
async function apiProcessesOf(primaryPid: number): Promise<number[]> {
  const { stdout } = await run('ps', ['-o', 'pid=', '--ppid', String(primaryPid)]).catch(() => ({
    stdout: '',
  }));
  return stdout
    .split('\n')
    .map((line) => Number(line.trim()))
    .filter((pid) => pid > 0);
}

describe('API_PROCESSES: several API processes on one port', () => {
  let env: TestEnv;
  let api: ApiProcess;
  let pipeline: { stop: () => Promise<void> }[] = [];

  beforeAll(async () => {
    env = await createTestEnv('cluster');
    // Admission on, its limit pinned (a shed purchase would change the counts below): each
    // process limits itself, and the scrape sums the limits.
    api = await spawnApi(env, {
      API_PROCESSES: '2',
      ADMISSION: 'adaptive',
      ADMISSION_INITIAL_LIMIT: '500',
      ADMISSION_MIN_LIMIT: '500',
      ADMISSION_MAX_LIMIT: '500',
    });
    pipeline = [
      await startBridge(env.config, env.logger.child({ proc: 'bridge' })),
      await startWorker(env.config, env.logger.child({ proc: 'worker' })),
    ];
  });
  afterAll(async () => {
    await api?.stop();
    for (const part of pipeline) await part.stop();
    await env?.cleanup();
  });

  it('sells a sale through both, sums their metrics once, replaces a dead one, drains on SIGTERM', async () => {
    const primaryPid = api.child.pid!;
    const first = await waitFor(
      async () => {
        const pids = await apiProcessesOf(primaryPid);
        return pids.length === 2 && pids;
      },
      { what: 'two API processes' },
    );

    const buyer = client(api.baseUrl, env);
    const sale = await buyer.createSale({ sku: 'cluster', name: 'Cluster', stock: 60 });
    const saleId = sale.body.id as number;
    const wave = await buyOnce(buyer, saleId, buyersNamed('c', 150), 16);
    expect(groupByStatus(wave)['202']).toHaveLength(60);
    expect(groupByStatus(wave)['409']).toHaveLength(90);
    await assertOracle(env, saleId, wave);

    // One scrape answers for the cluster: every purchase counted once, whichever process
    // answered it, and a gauge every process reads from Redis not multiplied.
    const purchases = await api.metric('flashline_http_requests_total', {
      route: '/sales/:saleId/purchase',
    });
    expect(purchases).toBe(150);
    expect(await api.metric('flashline_sale_remaining_units', { sale: String(saleId) })).toBe(0);
    expect(await api.metric('flashline_admission_limit')).toBe(1000);

    // A process killed outright is replaced; the port keeps answering meanwhile.
    process.kill(first[0]!, 'SIGKILL');
    const replaced = await waitFor(
      async () => {
        const pids = await apiProcessesOf(primaryPid);
        return pids.length === 2 && !pids.includes(first[0]!) && pids;
      },
      { what: 'a replacement API process' },
    );
    const late = await buyOnce(buyer, saleId, buyersNamed('late', 20), 4);
    expect(late.map((a) => a.status)).toEqual(Array(20).fill(409));

    // SIGTERM to the primary drains every process; the primary exits cleanly last.
    api.child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) =>
      api.child.once('exit', (exitCode) => resolve(exitCode)),
    );
    expect(code).toBe(0);
    for (const pid of replaced) expect(() => process.kill(pid, 0)).toThrow();
  });
});
