import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { Logger } from '../../observability/logger.js';

declare module 'hono' {
  interface ContextVariableMap {
    // A child of the process logger carrying this request's id: every line a request writes
    // goes through it, so one grep for the X-Request-Id finds them all.
    logger: Logger;
  }
}

// Runs after hono's requestId middleware, whose id (the client's X-Request-Id when it is a
// short word, else a fresh UUID) is echoed in the response header.
export function requestLogger(logger: Logger) {
  return createMiddleware(async (c, next) => {
    c.set('logger', logger.child({ requestId: c.get('requestId') }));
    await next();
  });
}

// The request's logger, or the process logger if the request failed before it was set.
export function logOf(c: Context, fallback: Logger): Logger {
  return c.get('logger') ?? fallback;
}
