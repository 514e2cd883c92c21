import { createMiddleware } from 'hono/factory';
import { routePath } from 'hono/route';
import type { ApiMetrics } from '../../observability/metrics.js';

export type RecordAnswer = (route: string, method: string, status: number, seconds: number) => void;

// Counts and times an answer by route template (never the raw path, which would make label
// cardinality unbounded), method and status. Shared by the Hono middleware below and by the
// edge, which answers some requests (413) before they reach the app.
export function answerRecorder(metrics: ApiMetrics): RecordAnswer {
  return (route, method, status, seconds) => {
    const labels = { route, method, status: String(status) };
    metrics.httpRequests.inc(labels);
    metrics.httpDuration.observe(labels, seconds);
  };
}

export function httpMetrics(record: RecordAnswer) {
  return createMiddleware(async (c, next) => {
    const started = performance.now();
    await next();
    record(routePath(c, -1), c.req.method, c.res.status, (performance.now() - started) / 1000);
  });
}
