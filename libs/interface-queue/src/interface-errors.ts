/**
 * Which failures of the interface queue are worth retrying later (SPEC §6: "interface queue 5xx",
 * connection refused/reset/timeout) and which are permanent (a 4xx: bad request, bad credentials,
 * no such queue: our bug or our configuration; retrying cannot help).
 *
 * Classified by shape, not with `instanceof`: several copies of @azure/core-rest-pipeline are
 * installed side by side (the storage SDK's own, Azurite's, ...), each with its own RestError
 * class, so an `instanceof` check against the wrong copy is silently false.
 */

/** Socket-level error codes (Node's, undici's) that mean "the service was not reachable right now". */
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

/** Error names of aborted or timed-out operations (@azure/abort-controller, AbortSignal.timeout). */
const ABORT_NAMES: ReadonlySet<string> = new Set(['AbortError', 'TimeoutError']);

/** How deep to follow `cause` / AggregateError `errors` (guards against cycles). */
const MAX_DEPTH = 5;

/**
 * True when `err` is a transient failure of the interface queue: the service could not be reached
 * (connection refused / reset / timed out, DNS), the operation was aborted or timed out, or the
 * service answered 408, 429 or 5xx. False for every other answer of the service (400, 403, 404,
 * 409, 413, ...) and for anything that is not recognisably one of the above.
 */
export function isInterfaceUnavailable(err: unknown): boolean {
  return isUnavailable(err, 0);
}

function isUnavailable(err: unknown, depth: number): boolean {
  if (depth > MAX_DEPTH || typeof err !== 'object' || err === null) return false;
  const { name, message, code, statusCode, cause, errors } = err as {
    name?: unknown;
    message?: unknown;
    code?: unknown;
    statusCode?: unknown;
    cause?: unknown;
    errors?: unknown;
  };

  // the service answered: its status decides
  if (typeof statusCode === 'number' && statusCode > 0) {
    return statusCode === 408 || statusCode === 429 || statusCode >= 500;
  }
  if (typeof name === 'string' && ABORT_NAMES.has(name)) return true;
  if (typeof code === 'string' && NETWORK_CODES.has(code.toUpperCase())) return true;
  if (typeof message === 'string') {
    if (/socket hang up/i.test(message)) return true;
    // a response cut off mid-body (the storage SDK retries these too)
    if (code === 'PARSE_ERROR' && message.includes('Unclosed root tag')) return true;
  }

  // wrapped errors: `new Error(..., { cause })`, and AggregateError (Node's connect to a host
  // name with several addresses reports one ECONNREFUSED per address)
  if (isUnavailable(cause, depth + 1)) return true;
  return Array.isArray(errors) && errors.some((inner) => isUnavailable(inner, depth + 1));
}
