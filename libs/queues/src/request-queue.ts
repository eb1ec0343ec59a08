import { Queue } from 'bullmq';
import type { RedisClient } from './redis-connection.js';
import { withTimeout } from '@linebacker/runtime';
import type { QueueName } from './queue-names.js';
import type { RequestJobData } from './payloads.js';
import { toRedisError } from './redis-errors.js';

export type RequestQueue<T extends RequestJobData = RequestJobData> = Queue<T>;

export function createRequestQueue<T extends RequestJobData = RequestJobData>(
  name: QueueName,
  connection: RedisClient,
  prefix: string,
  onError: (err: Error) => void,
): RequestQueue<T> {
  // no removeOnComplete / removeOnFail here: the workers apply the configured retention
  // (request-worker.ts), so that no job carries it in its options
  const queue = new Queue<T>(name, { connection, prefix });
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
  connection: RedisClient,
  data: RequestJobData,
  timeoutMs: number,
): Promise<boolean> {
  if (connection.status !== 'ready') return false;
  const added = (queue as Queue<RequestJobData>).add(queue.name, data, { jobId: data.backupRequestId });
  return withTimeout(added.then(() => true, () => false), timeoutMs, false);
}
