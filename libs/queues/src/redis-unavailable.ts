const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH']);

const UNAVAILABLE_MESSAGES = [
  'Connection is closed',
  "Stream isn't writeable",
  'Reached the max retries per request limit',
  'LOADING',
  'READONLY',
  'CLUSTERDOWN',
  'MASTERDOWN',
];

/** True when an ioredis / BullMQ error means Redis is unreachable or not serving for now. */
export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && NETWORK_CODES.has(code)) return true;
  return err.name === 'MaxRetriesPerRequestError' || UNAVAILABLE_MESSAGES.some((m) => err.message.includes(m));
}
