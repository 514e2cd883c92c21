import { httpInstrumentationMiddleware } from '@hono/otel';
import { createMiddleware } from 'hono/factory';
import { tracingEnabled } from './tracing.js';

// A server span per request (continuing a caller's `traceparent`), named by route template,
// except under `untracedPrefixes`. Without tracing the request passes straight through.
export function httpTracing(untracedPrefixes: readonly string[]) {
  const traced = httpInstrumentationMiddleware({ captureActiveRequests: false });
  const untraced = (path: string) =>
    untracedPrefixes.some((prefix) => path === prefix || path.startsWith(`${prefix}/`));
  return createMiddleware(async (c, next) => {
    if (!tracingEnabled() || untraced(c.req.path)) return next();
    return traced(c, async () => {
      await next();
      // A 4xx (sold out, rate limited) is an answer, not a fault: the HTTP semantic
      // conventions keep it off the server span's error status, which reads `c.error`.
      if (c.res.status < 500) c.error = undefined;
    });
  });
}
