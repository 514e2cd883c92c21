import { createMiddleware } from 'hono/factory';
import { routePath } from 'hono/route';
import type { ApiMetrics } from '../../observability/metrics.js';

type Children = {
  requests: ReturnType<ApiMetrics['httpRequests']['labels']>;
  duration: ReturnType<ApiMetrics['httpDuration']['labels']>;
};

export type RecordAnswer = (route: string, method: string, status: number, seconds: number) => void;

// Counts and times an answer by route template (never the raw path, which would make label
// cardinality unbounded), method and status. The label children are looked up once per
// combination: prom-client hashes a label object on every call otherwise, a visible cost at
// tens of thousands of sold-out answers a second. Shared by the Hono middleware below and by
// the edge, which answers some requests (413) before they reach the app.
export function answerRecorder(metrics: ApiMetrics): RecordAnswer {
  const children = new Map<string, Children>();
  return (route, method, status, seconds) => {
    const key = `${method} ${status} ${route}`;
    let child = children.get(key);
    if (!child) {
      const labels = { route, method, status: String(status) };
      child = {
        requests: metrics.httpRequests.labels(labels),
        duration: metrics.httpDuration.labels(labels),
      };
      children.set(key, child);
    }
    child.requests.inc();
    child.duration.observe(seconds);
  };
}

export function httpMetrics(record: RecordAnswer) {
  return createMiddleware(async (c, next) => {
    const started = performance.now();
    await next();
    record(routePath(c, -1), c.req.method, c.res.status, (performance.now() - started) / 1000);
  });
}
