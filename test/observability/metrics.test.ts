import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitFor, type TestEnv } from '../support/env.js';
import { client, type System, openSystem, closeSystem } from '../support/system.js';
import { buyersNamed, buyOnce } from '../support/buyers.js';
import { assertOracle } from '../support/oracle.js';

// One sample of a Prometheus text exposition: the value of `name` whose labels include all
// of `labels` (summed when several series match), or undefined when none does.
function sample(text: string, name: string, labels: Record<string, string> = {}) {
  let total: number | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const seen = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => seen[k] === v)) {
      total = (total ?? 0) + Number(match[3]);
    }
  }
  return total;
}

async function scrape(url: string): Promise<string> {
  const response = await fetch(url);
  expect(response.status, url).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/plain');
  return response.text();
}

// metrics of every process
let env: TestEnv;
let sut: System;
const metricsUrl = {
  api: () => `${sut.baseUrl}/metrics`,
  bridge: () => `http://127.0.0.1:${sut.bridge.metricsPort}/metrics`,
  worker: () => `http://127.0.0.1:${sut.worker.metricsPort}/metrics`,
};

beforeAll(async () => void ({ env, sut } = await openSystem('metrics')));
afterAll(() => closeSystem(sut, env));

it('serves Node default metrics from the api, the bridge and the worker', async () => {
  for (const [name, url] of Object.entries(metricsUrl)) {
    const text = await scrape(url());
    expect(sample(text, 'process_cpu_user_seconds_total', { process: name }), name).toBeDefined();
    expect(sample(text, 'nodejs_eventloop_lag_seconds', { process: name }), name).toBeDefined();
  }
});

it('moves every pipeline metric after a small sale', async () => {
  const api = client(sut.baseUrl, env);
  const created = await api.createSale({ sku: 'metrics-5', name: 'Five', stock: 5 });
  expect(created.status).toBe(201);
  const saleId = created.body.id as number;
  const sale = { sale: String(saleId) };
  const before = await scrape(metricsUrl.api());
  expect(sample(before, 'flashline_sale_remaining_units', sale)).toBe(5);

  // Eight buyers for five units: five 202s, three sold out.
  const answers = await buyOnce(api, saleId, buyersNamed('buyer', 8), 4);
  expect(answers.filter((a) => a.status === 202)).toHaveLength(5);
  expect(answers.filter((a) => a.status === 409)).toHaveLength(3);
  await assertOracle(env, saleId, answers);

  const apiText = await scrape(metricsUrl.api());
  const purchase = { route: '/sales/:saleId/purchase', method: 'POST' };
  expect(sample(apiText, 'flashline_http_requests_total', { ...purchase, status: '202' })).toBe(5);
  expect(sample(apiText, 'flashline_http_requests_total', { ...purchase, status: '409' })).toBe(3);
  expect(
    sample(apiText, 'flashline_http_request_duration_seconds_count', {
      ...purchase,
      status: '202',
    }),
  ).toBe(5);
  expect(sample(apiText, 'flashline_gate_outcomes_total', { outcome: 'reserved' })).toBe(5);
  expect(sample(apiText, 'flashline_gate_outcomes_total', { outcome: 'sold_out' })).toBe(3);
  expect(sample(apiText, 'flashline_publish_confirm_duration_seconds_count')).toBe(5);
  expect(sample(apiText, 'flashline_sale_remaining_units', sale)).toBe(0);

  const bridgeText = await scrape(metricsUrl.bridge());
  expect(sample(bridgeText, 'flashline_bridge_forwarded_total')).toBe(5);
  for (const reason of ['unparseable', 'enqueue_failed']) {
    expect(sample(bridgeText, 'flashline_bridge_failures_total', { reason }), reason).toBe(0);
  }
  expect(sample(bridgeText, 'flashline_rabbitmq_queue_depth', { queue: 'flashline.orders' })).toBe(
    0,
  );
  expect(
    sample(bridgeText, 'flashline_rabbitmq_queue_depth', { queue: 'flashline.orders.dead' }),
  ).toBe(0);

  // A job's counters move once its row is written, and BullMQ marks it completed just
  // after: wait for both before reading the rest.
  const workerText = await waitFor(
    async () => {
      const text = await scrape(metricsUrl.worker());
      const counted = sample(text, 'flashline_jobs_total', { outcome: 'completed' });
      const completed = sample(text, 'flashline_bullmq_jobs', { state: 'completed' });
      return counted === 5 && completed === 5 && text;
    },
    { what: 'five completed jobs in the worker metrics' },
  );
  expect(sample(workerText, 'flashline_job_duration_seconds_count', { outcome: 'confirmed' })).toBe(
    5,
  );
  expect(sample(workerText, 'flashline_jobs_total', { outcome: 'failed' })).toBe(0);
  expect(sample(workerText, 'flashline_jobs_total', { outcome: 'retried' })).toBe(0);
  for (const state of ['waiting', 'active', 'delayed', 'failed']) {
    expect(sample(workerText, 'flashline_bullmq_jobs', { state }), state).toBe(0);
  }
});
