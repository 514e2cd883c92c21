import { DrizzleQueryError } from 'drizzle-orm';
import { PermanentError } from './permanent-error.js';
import { TransientError } from './transient-error.js';

export type ErrorClass = 'transient' | 'permanent';

type Known = { errorClass: ErrorClass; reason: string };

// SQLSTATEs that decide retry, by class, with the reason recorded on a failed order. Class 08
// (connection exceptions) is transient as a whole and handled apart.
const sqlStateReasons: Record<ErrorClass, Record<string, string>> = {
  transient: {
    '40001': 'serialization_failure',
    '40P01': 'deadlock',
    '53300': 'too_many_connections',
    '57P01': 'admin_shutdown',
    '57P02': 'crash_shutdown',
    '57P03': 'cannot_connect_now',
  },
  permanent: {
    // The database guard (sold <= stock, units <= limit) refusing: retrying changes nothing.
    '23514': 'guard_refused',
    // Every foreign key of an order points at its sale.
    '23503': 'sale_unknown',
    ...Object.fromEntries(['23502', '23505', '22P02', '22003'].map((code) => [code, 'bad_data'])),
  },
};
const sqlStates: Record<string, Known> = Object.fromEntries(
  (['transient', 'permanent'] as const).flatMap((errorClass) =>
    Object.entries(sqlStateReasons[errorClass]).map(([code, reason]) => [
      code,
      { errorClass, reason },
    ]),
  ),
);

const transientNodeCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
]);

// pg and ioredis report dropped connections and timeouts with messages, not codes.
const transientMessage =
  /terminat|timeout|timed out|connection.*(closed|reset|lost|refused|ended)|Connection is closed|not connected|not queryable|ECONNREFUSED|socket hang up|max retries per request/i;

// Wrappers (drizzle's DrizzleQueryError, `{ cause }` errors) carry the driver's error as their
// cause; the wrapper's own message quotes the SQL and its parameters, so it is not matched.
function* causeChain(error: unknown): Generator<unknown> {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && current != null; depth += 1) {
    yield current;
    current = (current as { cause?: unknown }).cause;
  }
}

const codeOf = (error: unknown): string | null => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : null;
};

// A second confirmed order for one Idempotency-Key: the first one stands.
const idempotencyKeyIndex = 'orders_held_idempotency_key_idx';

function knownOf(error: unknown): Known | null {
  if (error instanceof PermanentError) return { errorClass: 'permanent', reason: error.reason };
  if (error instanceof TransientError) return { errorClass: 'transient', reason: error.reason };
  const code = codeOf(error);
  if (code === '23505' && (error as { constraint?: unknown }).constraint === idempotencyKeyIndex) {
    return { errorClass: 'permanent', reason: 'idempotency_key_used' };
  }
  if (code) {
    const sqlState = sqlStates[code];
    if (sqlState) return sqlState;
    if (/^08[0-9A-Z]{3}$/.test(code))
      return { errorClass: 'transient', reason: 'connection_exception' };
    if (transientNodeCodes.has(code))
      return { errorClass: 'transient', reason: code.toLowerCase() };
  }
  if (error instanceof DrizzleQueryError) return null;
  const message = error instanceof Error ? error.message : String(error);
  if (transientMessage.test(message)) {
    return {
      errorClass: 'transient',
      reason: /timeout|timed out/i.test(message) ? 'timeout' : 'connection_lost',
    };
  }
  return null;
}

// The first link of the cause chain that says what kind of failure this is.
function classify(error: unknown): Known | null {
  for (const link of causeChain(error)) {
    const known = knownOf(link);
    if (known) return known;
  }
  return null;
}

// True when the error says a dependency is down or busy, not that the request was wrong.
export function isTransientFailure(error: unknown): boolean {
  return classify(error)?.errorClass === 'transient';
}

export function classifyError(error: unknown): ErrorClass {
  // Unknown errors are retried: a bounded number of attempts costs less than a lost order,
  // and exhausting them still ends in the dead-letter queue.
  return classify(error)?.errorClass ?? 'transient';
}

// A short, stable reason for logs, metrics and the failed order's row.
export function errorReason(error: unknown): string {
  const known = classify(error);
  if (known) return known.reason;
  const code = [...causeChain(error)].map(codeOf).find((c) => c !== null);
  return code ? `code_${code}` : 'unexpected';
}
