import { PermanentError, unavailableAs } from '@linebacker/domain';

/** SQLSTATEs meaning "the server cannot serve us right now", not "your statement is wrong". */
const UNAVAILABLE_SQLSTATES = new Set([
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
  '53100', // disk_full
  '58030', // io_error
]);

/** pg's own errors for a connection that could not be made or was lost. */
const UNAVAILABLE_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
  'Connection is closed',
];

function isPostgresUnavailable(err: object): boolean {
  const { code, message } = err as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (UNAVAILABLE_SQLSTATES.has(code) || code.startsWith('08'))) return true;
  return typeof message === 'string' && UNAVAILABLE_MESSAGES.some((known) => message.includes(known));
}

const unavailable = unavailableAs('postgres', isPostgresUnavailable);

/**
 * The error callers of libs/db see: a DependencyUnavailableError('postgres') when Postgres is
 * unreachable or refusing work for now (connection refused, reset or timed out, shutting down, too
 * many connections), so they answer 503 or retry later; a PermanentError for a data exception
 * (SQLSTATE class 22: a NUL in text, an invalid Unicode escape, a value out of range), which no
 * retry can cure; any other error as it is.
 */
export function toDatabaseError(err: unknown): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code.startsWith('22')) {
    return new PermanentError(`Postgres refused the data (SQLSTATE ${code}): ${(err as Error).message}`, { cause: err });
  }
  return unavailable(err);
}
