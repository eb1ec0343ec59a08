import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { withTimeout } from '@linebacker/runtime';
import type { QueueName } from './queue-names.js';
import type { RequestJobData } from './payloads.js';
import { toRedisError } from './redis-errors.js';

/**
 * Job retention. A job stays findable by its id for this long after it ends, so that adding the
 * same request again is a no-op; after that, a re-add creates a job whose handler sees the request
 * already past its step in Postgres and completes as a no-op.
 */
export const RETENTION = {
  completed: { age: 3600, count: 100_000 },
  failed: { age: 7 * 24 * 3600 },
} as const;

export type RequestQueue<T extends RequestJobData = RequestJobData> = Queue<T>;

export function createRequestQueue<T extends RequestJobData = RequestJobData>(
  name: QueueName,
  connection: Redis,
  prefix: string,
  onError: (err: Error) => void,
): RequestQueue<T> {
  const queue = new Queue<T>(name, {
    connection,
    prefix,
    defaultJobOptions: { removeOnComplete: RETENTION.completed, removeOnFail: RETENTION.failed },
  });
  // without a listener, an 'error' event (Redis gone) would crash the process
  queue.on('error', onError);
  // the boundary of libs/queues: adding while Redis is unavailable throws DependencyUnavailableError
  const rethrow = (err: unknown): never => {
    throw toRedisError(err);
  };
  const add = queue.add.bind(queue);
  const addBulk = queue.addBulk.bind(queue);
  queue.add = (...args) => add(...args).catch(rethrow);
  queue.addBulk = (...args) => addBulk(...args).catch(rethrow);
  return queue;
}

/**
 * Adds the job for a request (jobId = backupRequestId), or gives up at once when Redis is not
 * connected, or after `timeoutMs`. Returns whether the job was added. Never throws: the caller has
 * already committed the request, and recovery re-adds whatever is missing.
 */
export async function addRequestJob(
  queue: RequestQueue,
  connection: Redis,
  data: RequestJobData,
  timeoutMs: number,
): Promise<boolean> {
  if (connection.status !== 'ready') return false;
  const added = (queue as Queue<RequestJobData>).add(queue.name, data, { jobId: data.backupRequestId });
  return withTimeout(added.then(() => true, () => false), timeoutMs, false);
}
