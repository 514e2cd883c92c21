import { context, propagation, trace } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { defaultResource, resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  NodeTracerProvider,
  SimpleSpanProcessor,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { Config } from '../config.js';

export type Tracing = { shutdown: () => Promise<void> };

export type TracingOptions = {
  serviceName: string;
  // OTLP/HTTP base URL (OTEL_EXPORTER_OTLP_ENDPOINT); spans go to `<endpoint>/v1/traces`.
  otlpEndpoint?: string | undefined;
  // Tests hand in an in-memory exporter instead of an endpoint.
  exporter?: SpanExporter;
};

let enabled = false;

// True once a tracer provider is registered; hot paths skip all span work otherwise.
export function tracingEnabled(): boolean {
  return enabled;
}

export function tracingOptions(config: Config, processName: string): TracingOptions {
  return {
    serviceName: config.otel.serviceName ?? `flashline-${processName}`,
    otlpEndpoint: config.otel.exporterOtlpEndpoint,
  };
}

// The OTLP spec appends the signal path to the generic endpoint, keeping any base path.
export function tracesUrl(endpoint: string): string {
  return `${endpoint.replace(/\/+$/, '')}/v1/traces`;
}

// Starts the SDK only when there is somewhere to send spans: without an endpoint nothing is
// registered and the OpenTelemetry API stays its no-op self. Must run before `pg` is first
// imported, or its instrumentation cannot hook it.
export function startTracing(options: TracingOptions): Tracing | null {
  const exporter =
    options.exporter ??
    (options.otlpEndpoint
      ? new OTLPTraceExporter({ url: tracesUrl(options.otlpEndpoint) })
      : undefined);
  if (!exporter) return null;
  const provider = new NodeTracerProvider({
    resource: defaultResource().merge(
      resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.serviceName }),
    ),
    spanProcessors: [
      // Tests read spans the moment they end; a process batches its exports.
      options.exporter ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter),
    ],
  });
  provider.register();
  const unregister = registerInstrumentations({
    tracerProvider: provider,
    // Queries outside a traced request or job (health checks, reconciler scans) stay untraced.
    instrumentations: [new PgInstrumentation({ requireParentSpan: true })],
  });
  enabled = true;
  return {
    shutdown: async () => {
      enabled = false;
      unregister();
      await provider.shutdown();
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}
