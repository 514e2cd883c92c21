import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  propagation,
  trace,
  type Attributes,
  type Context,
  type Span,
} from '@opentelemetry/api';
import { tracingEnabled } from './tracing.js';

const tracer = trace.getTracer('flashline');

export type MessageSpan = {
  // The messaging system (`rabbitmq`, `bullmq`) and the queue or exchange.
  system: string;
  destination: string;
  // One of several queues that together are the destination (the order queues).
  partition?: string | undefined;
  messageId?: string | undefined;
  orderId?: string | undefined;
};

function messageAttributes(message: MessageSpan, operation: string): Attributes {
  return {
    'messaging.system': message.system,
    'messaging.operation.type': operation,
    'messaging.destination.name': message.destination,
    ...(message.partition ? { 'messaging.destination.partition.id': message.partition } : {}),
    ...(message.messageId ? { 'messaging.message.id': message.messageId } : {}),
    ...(message.orderId ? { 'flashline.order.id': message.orderId } : {}),
  };
}

async function runInSpan<T>(span: Span, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    span.recordException(error instanceof Error ? error : String(error));
    span.setStatus({ code: SpanStatusCode.ERROR });
    throw error;
  } finally {
    span.end();
  }
}

// Publishes inside a producer span, handing `send` the W3C headers (`traceparent`) to put on
// the message so that its consumer continues this trace. Without tracing: no span, no headers.
export function withPublishSpan<T>(
  message: MessageSpan,
  send: (headers: Record<string, string>) => Promise<T>,
): Promise<T> {
  if (!tracingEnabled()) return send({});
  return tracer.startActiveSpan(
    `publish ${message.destination}`,
    { kind: SpanKind.PRODUCER, attributes: messageAttributes(message, 'publish') },
    (span) =>
      runInSpan(span, () => {
        const headers: Record<string, string> = {};
        propagation.inject(context.active(), headers);
        return send(headers);
      }),
  );
}

// Runs `work` in a consumer span whose parent is the context carried by the message (its
// headers, or a job's `traceparent`), never whatever happens to be active in this process.
export function withProcessSpan<T>(
  message: MessageSpan,
  carrier: Record<string, unknown> | undefined,
  work: () => Promise<T>,
): Promise<T> {
  if (!tracingEnabled()) return work();
  const parent = propagation.extract(ROOT_CONTEXT, carrier ?? {}, {
    keys: (c) => Object.keys(c),
    get: (c, key) => {
      const value = c[key];
      if (typeof value === 'string') return value;
      // amqplib hands header values back as Buffers when they arrive as byte arrays.
      return Buffer.isBuffer(value) ? value.toString('utf8') : undefined;
    },
  });
  return tracer.startActiveSpan(
    `process ${message.destination}`,
    { kind: SpanKind.CONSUMER, attributes: messageAttributes(message, 'process') },
    parent,
    (span) => runInSpan(span, work),
  );
}

// The `traceparent` of the active span, to carry in data that has no headers (a BullMQ job).
export function activeTraceparent(): string | undefined {
  if (!tracingEnabled()) return undefined;
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent;
}

// The active context, kept by work that leaves it (the group-commit batcher) to come back to.
export function captureContext(): Context | undefined {
  return tracingEnabled() ? context.active() : undefined;
}

export function withContext<T>(captured: Context | undefined, work: () => Promise<T>): Promise<T> {
  return captured ? context.with(captured, work) : work();
}

// Group commit writes several purchases' orders in one statement. The statement runs in a
// batch span of the first order's trace, linked to every order's span, and each order's own
// trace gets a `commit order` span linked to the batch: every purchase's trace reaches the
// commit that wrote it.
export function withBatchSpan<T>(
  members: { context: Context | undefined; orderId: string }[],
  work: () => Promise<T>,
): Promise<T> {
  if (!tracingEnabled() || members.length === 0) return work();
  const links = members.flatMap((m) => {
    const spanContext = m.context && trace.getSpanContext(m.context);
    return spanContext ? [{ context: spanContext }] : [];
  });
  const size = { 'flashline.batch.size': members.length };
  const parent = members[0]!.context ?? ROOT_CONTEXT;
  return tracer.startActiveSpan('commit orders', { attributes: size, links }, parent, (batch) => {
    const perOrder = members.map((m) =>
      tracer.startSpan(
        'commit order',
        {
          attributes: { ...size, 'flashline.order.id': m.orderId },
          links: [{ context: batch.spanContext() }],
        },
        m.context ?? ROOT_CONTEXT,
      ),
    );
    return runInSpan(batch, work).finally(() => {
      for (const span of perOrder) span.end();
    });
  });
}
