import type { Context } from 'hono';
import type { Logger } from '../../observability/logger.js';
import { requestIdOf } from '../edge.js';

declare module 'hono' {
  interface ContextVariableMap {
    // A child of the process logger carrying this request's id, made on first use: most
    // answers (a sold-out storm) log nothing, and a pino child per request is not free.
    logger: Logger;
  }
}

// Every line a request writes goes through logOf(c), so one grep for its X-Request-Id finds
// them all. The id is the one the edge headers answer with (src/api/edge.ts).
export function logOf(c: Context, processLogger: Logger): Logger {
  let logger = c.get('logger');
  if (!logger) {
    logger = processLogger.child({ requestId: requestIdOf(c) });
    c.set('logger', logger);
  }
  return logger;
}
