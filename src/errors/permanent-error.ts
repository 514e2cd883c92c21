import { ClassifiedError } from './classified-error.js';

// A failure that will fail the same way on every retry: a bad payload, an unknown sale,
// the database guard refusing. The job goes straight to the dead-letter queue.
export class PermanentError extends ClassifiedError {
  override readonly name = 'PermanentError';
}
