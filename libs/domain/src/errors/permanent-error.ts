/**
 * Retrying cannot help (bad data, a request the dependency refuses for good, a broken invariant):
 * the step fails at once and records why (STYLE "Errors"). "Already done" is not an error: a step
 * that finds the request past its own step reports a no-op.
 */
export class PermanentError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PermanentError';
  }
}
