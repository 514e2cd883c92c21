import { createTestEnv, type TestEnv } from './env.js';
import { startApi, type RunningApi } from '../../src/cmd/wiring/api.js';
import { startBridge } from '../../src/cmd/wiring/bridge.js';
import { startWorker } from '../../src/cmd/wiring/worker.js';
import { signBuyerToken } from '../../src/auth/jwt.js';

export type System = {
  api: RunningApi;
  baseUrl: string;
  bridge: Awaited<ReturnType<typeof startBridge>>;
  worker: Awaited<ReturnType<typeof startWorker>>;
  stop: () => Promise<void>;
};

// The whole pipeline in this process, on the real services of one test environment.
export async function startSystem(env: TestEnv): Promise<System> {
  const api = await startApi(env.config, env.logger.child({ proc: 'api' }));
  const bridge = await startBridge(env.config, env.logger.child({ proc: 'bridge' }));
  const worker = await startWorker(env.config, env.logger.child({ proc: 'worker' }));
  return {
    api,
    baseUrl: `http://127.0.0.1:${api.port}`,
    bridge,
    worker,
    stop: async () => {
      await api.stop();
      await bridge.stop();
      await worker.stop();
    },
  };
}

// An environment of its own, the pipeline on it and a client of its API: what most test files
// start before their tests.
export async function openSystem(name: string, overrides: Record<string, string> = {}) {
  const env = await createTestEnv(name, overrides);
  const sut = await startSystem(env);
  return { env, sut, api: client(sut.baseUrl, env) };
}

// Stops what openSystem started, as much of it as started.
export async function closeSystem(sut: System | undefined, env: TestEnv | undefined) {
  await sut?.stop();
  await env?.cleanup();
}

export type Client = ReturnType<typeof client>;

export function client(baseUrl: string, env: TestEnv) {
  const buyerHeaders = (buyer: string) => ({
    authorization: `Bearer ${signBuyerToken(buyer, env.config.jwt.secret)}`,
    'content-type': 'application/json',
  });
  const call = async (
    method: string,
    path: string,
    headers: Record<string, string>,
    body?: unknown,
  ) => {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = text;
    }
    return {
      status: response.status,
      headers: response.headers, // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read loosely shaped JSON bodies
      body: json as Record<string, any>,
    };
  };
  return {
    buyerHeaders,
    createSale: (sale: Record<string, unknown>) =>
      call(
        'POST',
        '/admin/sales',
        {
          authorization: `Bearer ${env.config.auth.adminToken}`,
          'content-type': 'application/json',
        },
        sale,
      ),
    purchase: (
      saleId: number,
      buyer: string,
      body: unknown = { quantity: 1 },
      extra: Record<string, string> = {},
    ) => call('POST', `/sales/${saleId}/purchase`, { ...buyerHeaders(buyer), ...extra }, body),
    order: (orderId: string, buyer: string) =>
      call('GET', `/orders/${orderId}`, buyerHeaders(buyer)),
    sale: (saleId: number) => call('GET', `/sales/${saleId}`, {}),
    raw: call,
  };
}

// Runs `tasks` with at most `concurrency` in flight.
export async function pool<T>(tasks: (() => Promise<T>)[], concurrency: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(concurrency, tasks.length) }, async () => {
    while (next < tasks.length) {
      const index = next++;
      results[index] = await tasks[index]!();
    }
  });
  await Promise.all(lanes);
  return results;
}

export function groupByStatus<T extends { status: number }>(answers: T[]): Record<string, T[]> {
  const groups: Record<string, T[]> = {};
  for (const answer of answers) (groups[String(answer.status)] ??= []).push(answer);
  return groups;
}
