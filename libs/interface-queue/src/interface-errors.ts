import { DependencyUnavailableError, PermanentError, unavailableAs } from '@linebacker/domain';

/*
 * Which failures of the interface queue are worth retrying later (SPEC §6: "interface queue 5xx",
 * connection refused/reset/timeout) and which are permanent (a 4xx: bad request, bad credentials,
 * no such queue: our bug or our configuration; retrying cannot help).
 *
 * Classified by shape, not with `instanceof`: several copies of @azure/core-rest-pipeline are
 * installed side by side (the storage SDK's own, Azurite's, ...), each with its own RestError
 * class, so an `instanceof` check against the wrong copy is silently false.
 */

/** Error names of aborted or timed-out operations (@azure/abort-controller, AbortSignal.timeout). */
const ABORT_NAMES: ReadonlySet<string> = new Set(['AbortError', 'TimeoutError']);

/** The service's own answer, when it gave one (a RestError's status, possibly wrapped in a cause). */
function statusOf(err: unknown, depth = 0): number | undefined {
  if (depth > 5 || typeof err !== 'object' || err === null) return undefined;
  const { statusCode, cause } = err as { statusCode?: unknown; cause?: unknown };
  return typeof statusCode === 'number' && statusCode > 0 ? statusCode : statusOf(cause, depth + 1);
}

/** Signs of an interface queue that could not be reached, besides network error codes. */
function isUnreachable(err: object): boolean {
  const { name, message, code } = err as { name?: unknown; message?: unknown; code?: unknown };
  if (typeof name === 'string' && ABORT_NAMES.has(name)) return true;
  if (typeof message !== 'string') return false;
  // a socket closed under us; a response cut off mid-body (the storage SDK retries these too)
  return /socket hang up/i.test(message) || (code === 'PARSE_ERROR' && message.includes('Unclosed root tag'));
}

const unreachableAsUnavailable = unavailableAs('interface-queue', isUnreachable);

/**
 * The error callers of the interface queue see (SPEC §6): when the service answered, its status
 * decides: 408, 429 and 5xx are a DependencyUnavailableError('interface-queue') (retry later), any
 * other answer (400, 403, 404, 409, 413, ...: our bug or our configuration) a PermanentError with
 * the service's words. Without an answer: a network failure, an aborted or timed-out operation or a
 * cut connection is a DependencyUnavailableError; anything else stays as it is.
 */
export function toInterfaceError(err: unknown): unknown {
  if (err instanceof DependencyUnavailableError || err instanceof PermanentError) return err;
  const status = statusOf(err);
  if (status !== undefined) {
    if (status === 408 || status === 429 || status >= 500) return new DependencyUnavailableError('interface-queue', { cause: err });
    const { code, message } = err as { code?: unknown; message?: unknown };
    const named = typeof code === 'string' ? ` ${code}` : '';
    return new PermanentError(`the interface queue refused: ${status}${named}: ${String(message)}`, { cause: err });
  }
  return unreachableAsUnavailable(err);
}
