import { expect } from 'vitest';

type Answer = { status: number; headers: Headers; body: unknown };

const headersOf = (answer: Answer) =>
  Object.fromEntries([...answer.headers].filter(([name]) => name !== 'date'));

// A front door's answer (src/api/*-front.ts) against the app's to the same request: the same
// status, body and headers (but the date), the request's id echoed and the edge's headers on.
export function expectAppsAnswer(front: Answer, app: Answer, requestId: string): void {
  expect(front.status).toBe(app.status);
  expect(front.body).toEqual(app.body);
  expect(headersOf(front)).toEqual(headersOf(app));
  expect(front.headers.get('x-request-id')).toBe(requestId);
  expect(front.headers.get('x-content-type-options')).toBe('nosniff');
  expect(front.headers.get('content-type')).toBe('application/json');
}
