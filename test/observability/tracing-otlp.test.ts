import { insertConfirmedOrdersStatement } from '../../src/db/orders-batch-repository.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestEnv, waitFor, type TestEnv } from '../support/env.js';
import { client } from '../support/system.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

type ExportedSpan = {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  attributes: Record<string, unknown>;
};

type OtlpValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean };
type OtlpAttribute = { key: string; value: OtlpValue };
type OtlpRequest = {
  resourceSpans?: {
    resource?: { attributes?: OtlpAttribute[] };
    scopeSpans?: {
      spans?: {
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        attributes?: OtlpAttribute[];
      }[];
    }[];
  }[];
};

const valueOf = (v: OtlpValue) => v.stringValue ?? v.intValue ?? v.boolValue;
const attributesOf = (list: OtlpAttribute[] = []) =>
  Object.fromEntries(list.map((a) => [a.key, valueOf(a.value)]));

// A stand-in OTLP/HTTP collector: keeps every span the processes export as JSON.
async function startCollector() {
  const spans: ExportedSpan[] = [];
  const paths = new Set<string>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      paths.add(`${req.method} ${req.url} ${req.headers['content-type']}`);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpRequest;
      for (const resourceSpans of body.resourceSpans ?? []) {
        const service = String(attributesOf(resourceSpans.resource?.attributes)['service.name']);
        for (const scope of resourceSpans.scopeSpans ?? []) {
          for (const span of scope.spans ?? []) {
            spans.push({
              service,
              traceId: span.traceId,
              spanId: span.spanId,
              parentSpanId: span.parentSpanId ?? '',
              name: span.name,
              attributes: attributesOf(span.attributes),
            });
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    spans,
    paths,
    server,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
  };
}

type Running = { child: ChildProcess; lines: Record<string, unknown>[] };

// One Procfile process, run the way the Procfile runs it, its JSON log lines collected.
function startProcess(name: string, env: Record<string, string>): Running {
  const child = spawn('node', ['--import', 'tsx', `src/cmd/${name}.ts`], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: Record<string, unknown>[] = [];
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const complete = buffered.split('\n');
    buffered = complete.pop() ?? '';
    for (const line of complete.filter(Boolean)) {
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // Not a log line; ignore.
      }
    }
  });
  return { child, lines };
}

async function stopProcess(running: Running | undefined): Promise<void> {
  if (!running || running.child.exitCode !== null) return;
  const exited = new Promise((resolve) => running.child.once('exit', resolve));
  running.child.kill('SIGTERM');
  await exited;
}

describe('tracing across real processes, exported over OTLP', () => {
  let env: TestEnv;
  let collector: Awaited<ReturnType<typeof startCollector>>;
  const processes: Record<string, Running> = {};

  beforeAll(async () => {
    env = await createTestEnv('otlp');
    collector = await startCollector();
    for (const name of ['api', 'bridge', 'worker']) {
      processes[name] = startProcess(name, {
        ...env.env,
        LOG_LEVEL: 'info',
        OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
        OTEL_SERVICE_NAME: `flashline-${name}`,
        // Export within a fraction of a second rather than the SDK's default five.
        OTEL_BSP_SCHEDULE_DELAY: '200',
      });
    }
    for (const [name, running] of Object.entries(processes)) {
      await waitFor(async () => running.lines.find((l) => l.msg === 'ready'), {
        what: `${name} to be ready`,
        timeoutMs: 60_000,
      });
    }
  });
  afterAll(async () => {
    await Promise.all(Object.values(processes).map(stopProcess));
    collector?.server.close();
    await env?.cleanup();
  });

  it('sends the spans of one purchase from all three processes under one trace id', async () => {
    const ready = processes.api!.lines.find((l) => l.msg === 'ready');
    expect(ready?.tracing, 'tracing is on when the endpoint is set').toBe(true);
    const listening = processes.api!.lines.find((l) => l.msg === 'api listening');
    const api = client(`http://127.0.0.1:${String(listening?.port)}`, env);
    const created = await api.createSale({ sku: 'otlp-1', name: 'One', stock: 1 });
    expect(created.status).toBe(201);
    const answer = await api.purchase(created.body.id as number, 'dave');
    expect(answer.status).toBe(202);
    const orderId = answer.body.orderId as string;

    const publish = await waitFor(
      async () =>
        collector.spans.find(
          (s) =>
            s.name === 'publish flashline.orders' &&
            s.attributes['messaging.message.id'] === orderId,
        ),
      { what: 'the api to export the publish span' },
    );
    // Each process exports on its own schedule: wait for a span of every stage.
    const stages = ['POST /sales/:saleId/purchase', 'process flashline.orders', 'process orders'];
    const spans = await waitFor(
      async () => {
        const found = collector.spans.filter((s) => s.traceId === publish.traceId);
        return stages.every((name) => found.some((s) => s.name === name)) && found;
      },
      { what: 'every process to export its spans of the purchase' },
    );
    expect(publish.service).toBe('flashline-api');
    const byName = (name: string) => spans.filter((s) => s.name === name);
    expect(byName('POST /sales/:saleId/purchase').map((s) => s.service)).toEqual(['flashline-api']);
    const bridge = byName('process flashline.orders');
    expect(bridge.map((s) => s.service)).toEqual(['flashline-bridge']);
    expect(bridge[0]!.parentSpanId).toBe(publish.spanId);
    const job = byName('process orders');
    expect(job.map((s) => s.service)).toEqual(['flashline-worker']);
    expect(job[0]!.parentSpanId).toBe(bridge[0]!.spanId);
    const queries = spans.filter((s) => s.name.startsWith('pg.query:'));
    expect(new Set(queries.map((s) => s.service))).toEqual(new Set(['flashline-worker']));
    expect(queries.map((s) => s.name.split(' ')[0])).toContain(
      `pg.query:${insertConfirmedOrdersStatement}`,
    );
    expect(
      [...collector.paths].every((p) => p.startsWith('POST /v1/traces application/json')),
    ).toBe(true);
  });
});
