import { ClassifiedError } from './classified-error.js';

// A failure that may pass on its own: a dependency restarting, a timeout, a lost race.
// BullMQ retries the job with exponential backoff.
export class TransientError extends ClassifiedError {
  override readonly name = 'TransientError';
}
