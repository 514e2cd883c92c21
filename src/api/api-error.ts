import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

export type ErrorCode =
  | 'BAD_REQUEST'
  | 'UNAUTHORIZED'
  | 'SALE_NOT_FOUND'
  | 'ORDER_NOT_FOUND'
  | 'NOT_FOUND'
  | 'SOLD_OUT'
  | 'LIMIT_REACHED'
  | 'RATE_LIMITED'
  | 'SALE_NOT_STARTED'
  | 'SALE_ENDED'
  | 'SALE_PAUSED'
  | 'STOCK_IN_USE'
  | 'SALE_EXISTS'
  | 'PAYLOAD_TOO_LARGE'
  | 'ORDER_EXPIRED'
  | 'ORDER_NOT_PAYABLE'
  | 'ORDER_NOT_CANCELLABLE'
  | 'UNAVAILABLE'
  | 'INTERNAL'
  | 'CHALLENGE_REQUIRED'
  | 'CHALLENGE_FAILED'
  | 'NO_PROOF_OF_WORK'
  | 'NO_WAITING_ROOM'
  | 'QUEUE_NOT_OPEN'
  | 'NOT_IN_QUEUE'
  | 'NOT_ADMITTED';

// Thrown anywhere in a request; app.onError turns it into the contract's error body.
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: ErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  private json: string | undefined;

  // The contract's error body, serialized once: a refusal built once is answered many times.
  get body(): string {
    return (this.json ??= JSON.stringify(errorBody(this.code, this.message)));
  }
}

// The answer for an ApiError, thrown or returned.
export function errorResponse(c: Context, error: ApiError): Response {
  return c.body(error.body, error.status, {
    ...error.headers,
    'content-type': 'application/json',
  });
}

export const badRequest = (message: string) => new ApiError(400, 'BAD_REQUEST', message);
export const unavailable = (message = 'a dependency is unavailable; nothing was reserved') =>
  new ApiError(503, 'UNAVAILABLE', message);

export function errorBody(code: ErrorCode, message: string) {
  return { error: { code, message } };
}

const noSuchRoute = new ApiError(404, 'NOT_FOUND', 'no such route');

// The answer to a path no route takes, for the API's app and bull-board's alike.
export const routeNotFound = (c: Context) => errorResponse(c, noSuchRoute);
