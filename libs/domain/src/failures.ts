/**
 * The two failures a pipeline step can signal (STYLE "Errors"). "Already done" is not an error: a
 * step that finds the request past its own step simply reports a no-op.
 */

/** Worth retrying later: a dependency is unavailable or refused for now. */
export class TransientError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransientError';
  }
}

/** Retrying cannot help (bad data): fail now and record why. */
export class PermanentError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PermanentError';
  }
}
