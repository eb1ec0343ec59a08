import { DependencyUnavailableError, type Dependency } from './dependency-unavailable-error.js';

/**
 * Socket-level error codes (Node's, undici's, the Azure SDK's) that mean "the service was not
 * reachable right now". The one list: every adapter classifies network failures with this.
 */
const NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  // the Azure SDK's code for a request that failed to send without a more specific code
  'REQUEST_SEND_ERROR',
]);

/** How deep to follow `cause` / AggregateError `errors` (guards against cycles). */
const MAX_DEPTH = 5;

/**
 * True when `err`, or an error it wraps (`cause`, an AggregateError's `errors`: Node's connect to
 * a host name with several addresses reports one ECONNREFUSED per address), is a network failure,
 * or matches `alsoUnavailable` (an adapter's own signs, e.g. Postgres' SQLSTATE 57P01).
 */
export function isNetworkError(err: unknown, alsoUnavailable: (err: object) => boolean = () => false, depth = 0): boolean {
  if (depth > MAX_DEPTH || typeof err !== 'object' || err === null) return false;
  const { code, cause, errors } = err as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof code === 'string' && NETWORK_CODES.has(code.toUpperCase())) return true;
  if (alsoUnavailable(err)) return true;
  if (isNetworkError(cause, alsoUnavailable, depth + 1)) return true;
  return Array.isArray(errors) && errors.some((inner) => isNetworkError(inner, alsoUnavailable, depth + 1));
}

/**
 * An adapter's boundary: its errors as callers should see them. A network failure, or one with
 * the adapter's own signs of unavailability, becomes a DependencyUnavailableError(`dependency`)
 * with the original as its cause; any other error stays as it is.
 */
export const unavailableAs =
  (dependency: Dependency, alsoUnavailable: (err: object) => boolean) =>
  (err: unknown): unknown =>
    err instanceof DependencyUnavailableError || !isNetworkError(err, alsoUnavailable) ? err : new DependencyUnavailableError(dependency, { cause: err });
