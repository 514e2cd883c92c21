import { ApiError } from '../api-error.js';

// A purchase over the admission limit (nothing was reserved for it). One second: the limit is
// re-judged ten times in that while, and a client retrying sooner only adds to the load.
export const shedAnswer = new ApiError(
  503,
  'UNAVAILABLE',
  'the server is overloaded; nothing was reserved; retry shortly',
  { 'retry-after': '1' },
);
