import { insertConfirmedOrdersStatement } from '../../src/db/orders-batch-repository.js';
import { Writable } from 'node:stream';
import amqp from 'amqplib';
import { topology } from '../../src/broker/topology.js';
import { decodeOrders, type OrderMessage } from '../../src/broker/messages.js';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTracing, type Tracing } from '../../src/observability/tracing.js';
import { createLogger } from '../../src/observability/logger.js';
// Types only: the modules themselves are imported once tracing runs (see beforeAll).
import type { TestEnv } from '../support/env.js';
import type { System } from '../support/system.js';

// Imported after tracing has started, so that the pg instrumentation sees `pg` load.
const support = async () => ({
  ...(await import('../support/env.js')),
  ...(await import('../support/system.js')),
});

const exporter = new InMemorySpanExporter();
let tracing: Tracing | null;

beforeAll(() => {
  tracing = startTracing({ serviceName: 'flashline-test', exporter });
});
afterAll(async () => {
  await tracing?.shutdown();
});

const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;
const idOf = (span: ReadableSpan) => span.spanContext().spanId;
const traceOf = (span: ReadableSpan) => span.spanContext().traceId;

// The spans of one purchase, found from its order id on the publish span.
function purchaseTrace(orderId: string) {
  const spans = exporter.getFinishedSpans();
  const publish = spans.find(
    (s) => s.kind === SpanKind.PRODUCER && s.attributes['messaging.message.id'] === orderId,
  );
  if (!publish) return null;
  return spans.filter((s) => traceOf(s) === traceOf(publish));
}

function oneSpan(spans: ReadableSpan[], match: (s: ReadableSpan) => boolean, what: string) {
  const found = spans.filter(match);
  expect(
    found.map((s) => s.name),
    what,
  ).toHaveLength(1);
  return found[0]!;
}

function descendsFrom(spans: ReadableSpan[], span: ReadableSpan, ancestor: ReadableSpan) {
  const byId = new Map(spans.map((s) => [idOf(s), s]));
  for (let at: ReadableSpan | undefined = span; at; at = byId.get(parentOf(at) ?? '')) {
    if (parentOf(at) === idOf(ancestor)) return true;
  }
  return false;
}

// Waits for every stage of one purchase's trace and checks how they hang together; returns
// the trace id and the statements run under its job.
async function expectWholeTrace(orderId: string) {
  const { waitFor } = await support();
  // Spans end in no fixed order across the stages (the job may finish before the HTTP
  // answer is written): wait for one of each.
  const stages = ['POST /sales/:saleId/purchase', 'process flashline.orders', 'process orders'];
  const spans = await waitFor(
    async () => {
      const found = purchaseTrace(orderId);
      return stages.every((name) => found?.some((s) => s.name === name)) && found;
    },
    { what: `every stage's span of ${orderId}` },
  );
  const http = oneSpan(
    spans,
    (s) => s.kind === SpanKind.SERVER && s.name === 'POST /sales/:saleId/purchase',
    'api request span',
  );
  expect(parentOf(http), 'the request starts the trace').toBeUndefined();
  expect(http.attributes['http.response.status_code']).toBe(202);
  const publish = oneSpan(spans, (s) => s.kind === SpanKind.PRODUCER, 'api publish span');
  expect(publish.name).toBe('publish flashline.orders');
  expect(parentOf(publish)).toBe(idOf(http));
  const bridge = oneSpan(
    spans,
    (s) => s.kind === SpanKind.CONSUMER && s.attributes['messaging.system'] === 'rabbitmq',
    'bridge span',
  );
  expect(bridge.attributes['flashline.order.id']).toBe(orderId);
  expect(parentOf(bridge), 'the bridge continues from the message').toBe(idOf(publish));
  const job = oneSpan(
    spans,
    (s) => s.kind === SpanKind.CONSUMER && s.attributes['messaging.system'] === 'bullmq',
    'worker job span',
  );
  expect(job.attributes['flashline.order.id']).toBe(orderId);
  expect(parentOf(job), 'the job continues from its data').toBe(idOf(bridge));

  const queries = spans.filter((s) => s.name.startsWith('pg.query:'));
  // Group commit may write this order in a statement of another purchase's trace: this
  // trace has its own `commit order` span under the job, linked to that batch.
  const commit = oneSpan(spans, (s) => s.name === 'commit order', 'commit span');
  expect(commit.attributes['flashline.order.id']).toBe(orderId);
  expect(descendsFrom(spans, commit, job), 'the commit under the job').toBe(true);
  expect(commit.links).toHaveLength(1);
  for (const query of queries) {
    expect(descendsFrom(spans, query, job), `${query.name} under the job`).toBe(true);
  }
  return { traceId: traceOf(spans[0]!), statements: queries.map((s) => s.name.split(' ')[0]!) };
}

describe('one trace per purchase, across the api, the bridge and the worker', () => {
  let env: TestEnv;
  let sut: System;

  beforeAll(async () => {
    const { createTestEnv, startSystem } = await support();
    env = await createTestEnv('tracing');
    sut = await startSystem(env);
  });
  afterAll(async () => {
    await sut?.stop();
    await env?.cleanup();
  });

  it('links the HTTP request, the publish, the bridge, the job and its transaction', async () => {
    const { client, waitFor } = await support();
    const api = client(sut.baseUrl, env);
    const created = await api.createSale({ sku: 'trace-2', name: 'Two', stock: 2 });
    const saleId = created.body.id as number;
    const orders: string[] = [];
    for (const buyer of ['alice', 'bob']) {
      const answer = await api.purchase(saleId, buyer);
      expect(answer.status).toBe(202);
      orders.push(answer.body.orderId as string);
    }

    const traces = [];
    const statements: string[] = [];
    for (const orderId of orders) {
      const trace = await expectWholeTrace(orderId);
      traces.push(trace.traceId);
      statements.push(...trace.statements);
    }
    expect(new Set(traces).size, 'each purchase has its own trace').toBe(2);
    // One statement wrote the orders, atomic on its own: no BEGIN/COMMIT around it.
    expect(statements).toContain(`pg.query:${insertConfirmedOrdersStatement}`);

    // Sold out is an answer, not a fault: its span is not marked as an error.
    const soldOut = await api.purchase(saleId, 'carol');
    expect(soldOut.status).toBe(409);
    const refused = await waitFor(async () =>
      exporter
        .getFinishedSpans()
        .find(
          (s) => s.kind === SpanKind.SERVER && s.attributes['http.response.status_code'] === 409,
        ),
    );
    expect(refused.status.code).toBe(SpanStatusCode.UNSET);
    expect(refused.events.filter((e) => e.name === 'exception')).toEqual([]);
  });

  it('keeps a trace per purchase when several orders travel in one message', () =>
    severalOrdersInOneMessage(env, sut));
});

describe('log lines about an order', () => {
  let env: TestEnv;
  let sut: System;
  const lines: Record<string, unknown>[] = [];

  beforeAll(async () => {
    const { createTestEnv, startSystem } = await support();
    // Every job fails for good, so the worker writes a line about the order.
    env = await createTestEnv('tracelogs', { FAULT_FAIL_RATE: '1' });
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
          lines.push(JSON.parse(line) as Record<string, unknown>);
        }
        done();
      },
    });
    env.logger = createLogger('info', 'test-tracelogs', sink);
    sut = await startSystem(env);
  });
  afterAll(async () => {
    await sut?.stop();
    await env?.cleanup();
  });

  it('carry the order id and the trace id of its purchase', async () => {
    const { client, waitFor } = await support();
    const api = client(sut.baseUrl, env);
    const created = await api.createSale({ sku: 'trace-logs', name: 'Logs', stock: 1 });
    const answer = await api.purchase(created.body.id as number, 'carol');
    expect(answer.status).toBe(202);
    const orderId = answer.body.orderId as string;

    const line = await waitFor(
      async () => lines.find((l) => l.orderId === orderId && l.proc === 'worker'),
      { what: 'the worker to log the failed order' },
    );
    expect(line.msg).toBe('order job failed for good; dead-lettering');
    const spans = await waitFor(async () => purchaseTrace(orderId), {
      what: 'the publish span of the order',
    });
    expect(line.traceId, 'the log line names the purchase trace').toBe(traceOf(spans[0]!));
    // The dead letter is published inside the same trace, for the compensator to continue.
    await waitFor(async () =>
      purchaseTrace(orderId)?.find((s) => s.name === 'publish flashline.dlx'),
    );
  });
});

async function severalOrdersInOneMessage(env: TestEnv, sut: System) {
  const { client, waitFor } = await support();
  const api = client(sut.baseUrl, env);
  const created = await api.createSale({ sku: 'trace-batch', name: 'Batch', stock: 200 });
  const saleId = created.body.id as number;
  // A copy of every order message, from a queue of the test's own on the same exchange.
  const connection = await amqp.connect(env.config.amqp.url);
  const channel = await connection.createChannel();
  try {
    const { queue } = await channel.assertQueue('', { exclusive: true });
    await channel.bindQueue(queue, topology.ordersExchange, topology.ordersRoutingKey);
    // Purchases made at once share a message when their reservations come back in one
    // event-loop turn; a few rounds make sure at least one message held several.
    let batch: OrderMessage[] | undefined;
    for (let round = 0; round < 10 && !batch; round++) {
      const answers = await Promise.all(
        Array.from({ length: 8 }, (_, i) => api.purchase(saleId, `buyer-${round}-${i}`)),
      );
      expect(answers.map((a) => a.status)).toEqual(Array(8).fill(202));
      for (;;) {
        const message = await channel.get(queue, { noAck: true });
        if (!message) break;
        const orders = decodeOrders(message.content);
        if (orders && orders.length > 1) batch = orders;
      }
    }
    expect(batch, 'a message holding several orders').toBeDefined();

    const traces = new Set<string>();
    for (const order of batch!) traces.add((await expectWholeTrace(order.orderId)).traceId);
    expect(traces.size, 'each purchase of the message has its own trace').toBe(batch!.length);
    await waitFor(
      async () =>
        (await api.order(batch![0]!.orderId, batch![0]!.userId)).body.status === 'confirmed',
      {
        what: 'the batched order to be confirmed',
      },
    );
  } finally {
    await connection.close();
  }
}
