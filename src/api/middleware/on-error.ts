import type { ErrorHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { routePath } from 'hono/route';
import type { Logger } from '../../observability/logger.js';
import type { ApiMetrics } from '../../observability/metrics.js';
import { isTransientFailure } from '../../errors/classify.js';
import { ApiError, errorBody, errorResponse, type ErrorCode } from '../api-error.js';
import { logOf } from './request-logger.js';

// Hono's own middleware signal with HTTPException; only its status is kept, never its text.
const codeOfStatus: Record<number, ErrorCode> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  404: 'NOT_FOUND',
  413: 'PAYLOAD_TOO_LARGE',
};

// The one place an error becomes a response. Contract errors keep their code and message;
// anything else is answered without its cause, which may name internals, and logged with it.
export function onError(logger: Logger, metrics: ApiMetrics): ErrorHandler {
  return (error, c) => {
    if (error instanceof ApiError) return errorResponse(c, error);
    const log = logOf(c, logger);
    if (error instanceof HTTPException && error.status < 500) {
      const code = codeOfStatus[error.status] ?? 'BAD_REQUEST';
      return c.json(errorBody(code, 'the request was refused'), error.status);
    }
    if (isTransientFailure(error)) {
      log.warn({ err: error }, 'dependency unavailable');
      return c.json(errorBody('UNAVAILABLE', 'a dependency is unavailable'), 503);
    }
    metrics.httpServerErrors.inc({ route: routePath(c, -1) });
    log.error({ err: error, method: c.req.method, path: c.req.path }, 'unexpected error');
    return c.json(errorBody('INTERNAL', 'internal error'), 500);
  };
}
