import { unavailableAs } from '@linebacker/domain';

/** ioredis' and Redis' own words for "not serving right now". */
const UNAVAILABLE_MESSAGES = [
  'Connection is closed',
  "Stream isn't writeable",
  'Reached the max retries per request limit',
  'LOADING',
  'READONLY',
  'CLUSTERDOWN',
  'MASTERDOWN',
  'TRYAGAIN',
  // ioredis Cluster while it has no usable node map, and through Sentinel while none answers
  "Cluster isn't ready",
  'None of startup nodes is available',
  'Failed to refresh slots cache',
  'All sentinels are unreachable',
];

function isRedisUnavailable(err: object): boolean {
  const { name, message } = err as { name?: unknown; message?: unknown };
  if (name === 'MaxRetriesPerRequestError') return true;
  return typeof message === 'string' && UNAVAILABLE_MESSAGES.some((known) => message.includes(known));
}

/**
 * The error callers of libs/queues see: a DependencyUnavailableError('redis') when Redis is
 * unreachable or not serving for now, any other error as it is.
 */
export const toRedisError = unavailableAs('redis', isRedisUnavailable);
