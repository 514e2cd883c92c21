import { expect, it } from 'vitest';
import { DrizzleQueryError } from 'drizzle-orm';
import { UnrecoverableError } from 'bullmq';
import { classifyError, errorReason, isTransientFailure } from './classify.js';
import { PermanentError } from './permanent-error.js';
import { TransientError } from './transient-error.js';

// Shaped like pg's DatabaseError: a message and a SQLSTATE in `code`.
const pgError = (code: string, message = 'database error') =>
  Object.assign(new Error(message), { code });
// Shaped like Node's system errors.
const systemError = (code: string) => Object.assign(new Error(`connect ${code}`), { code });
// drizzle-orm wraps every failed query; the driver's error is the cause.
const wrapped = (cause: unknown) =>
  new DrizzleQueryError('insert into "orders" values ($1)', ['timeout-terminated'], cause as Error);

// classifyError: PostgreSQL's SQLSTATEs, retried (transient) or not (permanent).
it.each([
  ['40001', 'serialization_failure', 'transient'],
  ['40P01', 'deadlock', 'transient'],
  ['53300', 'too_many_connections', 'transient'],
  ['57P01', 'admin_shutdown', 'transient'],
  ['57P03', 'cannot_connect_now', 'transient'],
  ['08006', 'connection_exception', 'transient'],
  ['08001', 'connection_exception', 'transient'],
  ['23514', 'guard_refused', 'permanent'],
  ['23503', 'sale_unknown', 'permanent'],
  ['22P02', 'bad_data', 'permanent'],
] as const)('PostgreSQL %s (%s) is %s', (code, reason, errorClass) => {
  const sut = pgError(code);
  expect(classifyError(sut)).toBe(errorClass);
  expect(isTransientFailure(sut)).toBe(errorClass === 'transient');
  expect(errorReason(sut)).toBe(reason);
});

it.each(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE'])(
  'retries a dropped or refused connection (%s)',
  (code) => {
    expect(classifyError(systemError(code))).toBe('transient');
    expect(errorReason(systemError(code))).toBe(code.toLowerCase());
  },
);

it.each([
  'Connection terminated unexpectedly',
  'terminating connection due to administrator command',
  'Client has encountered a connection error and is not queryable',
  'Connection is closed.',
  'Reached the max retries per request limit (which is 1).',
  'timeout exceeded when trying to connect',
])('retries driver failures reported only by message: %s', (message) => {
  expect(classifyError(new Error(message))).toBe('transient');
  expect(isTransientFailure(new Error(message))).toBe(true);
});

it('looks through a drizzle query wrapper to the driver error', () => {
  expect(classifyError(wrapped(pgError('23514')))).toBe('permanent');
  expect(errorReason(wrapped(pgError('23514')))).toBe('guard_refused');
  expect(classifyError(wrapped(pgError('57P01')))).toBe('transient');
  expect(errorReason(wrapped(pgError('57P01')))).toBe('admin_shutdown');
  expect(errorReason(wrapped(new Error('Connection terminated unexpectedly')))).toBe(
    'connection_lost',
  );
});

it('never reads the SQL text or parameters of a wrapper as a symptom', () => {
  const sut = wrapped(new Error('something odd'));
  expect(isTransientFailure(sut)).toBe(false);
  expect(errorReason(sut)).toBe('unexpected');
});

it('honours the typed errors, outermost first', () => {
  expect(classifyError(new PermanentError('bad_payload', 'schema'))).toBe('permanent');
  expect(errorReason(new PermanentError('bad_payload', 'schema'))).toBe('bad_payload');
  expect(classifyError(new TransientError('busy', 'later'))).toBe('transient');
  const outer = new TransientError('dead_letter_unavailable', 'broker away', {
    cause: pgError('23514'),
  });
  expect(classifyError(outer)).toBe('transient');
  expect(errorReason(outer)).toBe('dead_letter_unavailable');
});

it('retries what it does not recognise, a bounded number of times', () => {
  expect(classifyError(new Error('surprise'))).toBe('transient');
  expect(isTransientFailure(new Error('surprise'))).toBe(false);
  expect(errorReason(new Error('surprise'))).toBe('unexpected');
  expect(errorReason(pgError('XX000'))).toBe('code_XX000');
  expect(classifyError(new UnrecoverableError('x'))).toBe('transient');
});
