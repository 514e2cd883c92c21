import { TransientError } from '../errors/transient-error.js';

// Nothing that repairs may hang (DESIGN.md): a recovery step races its deadline, and a step
// that stalls on a dependency fails as transient, so the caller's next pass tries again.
export async function withDeadline<T>(
  ms: number,
  what: string,
  work: () => Promise<T>,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new TransientError('deadline_exceeded', `${what} took longer than ${ms} ms`)),
      ms,
    );
  });
  try {
    return await Promise.race([work(), expired]);
  } finally {
    clearTimeout(timer);
  }
}
