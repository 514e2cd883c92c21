// An error that says how to treat it: its class decides retry, `reason` is what a failed
// order row and the metrics record.
export abstract class ClassifiedError extends Error {
  constructor(
    readonly reason: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
