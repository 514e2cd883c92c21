import { createMiddleware } from 'hono/factory';
import { routePath } from 'hono/route';
import type { ApiMetrics } from '../../observability/metrics.js';

type Children = {
  requests: ReturnType<ApiMetrics['httpRequests']['labels']>;
  duration: ReturnType<ApiMetrics['httpDuration']['labels']>;
};

// Counts and times every answer by route template (never the raw path, which would make label
// cardinality unbounded), method and status. The label children are looked up once per
// combination: prom-client hashes a label object on every call otherwise, a visible cost at
// tens of thousands of sold-out answers a second.
export function httpMetrics(metrics: ApiMetrics) {
  const children = new Map<string, Children>();
  return createMiddleware(async (c, next) => {
    const started = performance.now();
    await next();
    const route = routePath(c, -1);
    const method = c.req.method;
    const status = String(c.res.status);
    const key = `${method} ${status} ${route}`;
    let child = children.get(key);
    if (!child) {
      const labels = { route, method, status };
      child = {
        requests: metrics.httpRequests.labels(labels),
        duration: metrics.httpDuration.labels(labels),
      };
      children.set(key, child);
    }
    child.requests.inc();
    child.duration.observe((performance.now() - started) / 1000);
  });
}
