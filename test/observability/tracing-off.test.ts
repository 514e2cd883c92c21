import { trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import {
  startTracing,
  tracesUrl,
  tracingEnabled,
  tracingOptions,
} from '../../src/observability/tracing.js';
import { activeTraceparent, withPublishSpan } from '../../src/observability/trace-context.js';

describe('tracing switched off', () => {
  it('starts nothing without OTEL_EXPORTER_OTLP_ENDPOINT, and adds no headers', async () => {
    const options = tracingOptions(loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: '' }), 'worker');
    expect(options).toEqual({ serviceName: 'flashline-worker', otlpEndpoint: undefined });
    expect(startTracing(options)).toBeNull();
    expect(tracingEnabled()).toBe(false);
    // The API's no-op tracer: spans started anyway record nothing.
    expect(trace.getTracer('probe').startSpan('probe').isRecording()).toBe(false);
    expect(await withPublishSpan({ system: 'rabbitmq', destination: 'x' }, async (h) => h)).toEqual(
      {},
    );
    expect(activeTraceparent()).toBeUndefined();
  });

  it('sends spans to the OTLP traces path under the configured endpoint', () => {
    const config = loadConfig({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318',
      OTEL_SERVICE_NAME: 'flashline-worker-2',
    });
    expect(tracingOptions(config, 'worker')).toEqual({
      serviceName: 'flashline-worker-2',
      otlpEndpoint: 'http://jaeger:4318',
    });
    expect(tracesUrl('http://jaeger:4318')).toBe('http://jaeger:4318/v1/traces');
    expect(tracesUrl('http://collector/otlp/')).toBe('http://collector/otlp/v1/traces');
  });
});
