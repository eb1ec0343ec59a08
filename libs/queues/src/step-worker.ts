import type { Worker } from 'bullmq';
import type { AppContext } from '@linebacker/runtime';
import type { QueueName } from './queue-names.js';
import type { RequestJobData } from './payloads.js';
import { createProducerConnection, createWorkerConnection } from './redis-connection.js';
import { createRequestQueue, type RequestQueue } from './request-queue.js';
import { createRequestWorker, type RequestWorkerOptions } from './request-worker.js';

type StepOptions<T extends RequestJobData> = Pick<
  RequestWorkerOptions<T>,
  'queue' | 'concurrency' | 'handle' | 'isConnectionFailure' | 'onGiveUp' | 'probe'
>;

/**
 * Starts the worker of one pipeline step on its own blocking Redis connection, and registers its
 * graceful close (in-flight jobs finish) with the app's shutdown. Resolves once it is consuming.
 */
export async function startStepWorker<T extends RequestJobData>(
  { config, logger, onShutdown }: AppContext,
  step: StepOptions<T>,
): Promise<Worker<T>> {
  const connection = createWorkerConnection(config.redis.url, `linebacker:${step.queue}:worker`);
  connection.on('error', (err) => logger.debug({ err }, 'Redis worker connection error'));
  const worker = createRequestWorker<T>({ ...step, connection, prefix: config.redis.queuePrefix, retry: config.retry, logger });
  onShutdown(`${step.queue} worker`, async () => {
    await worker.close();
    connection.disconnect();
  });
  await worker.waitUntilReady();
  return worker;
}

/** A queue the app adds jobs to, on a fail-fast connection, closed with the app. */
export function openProducerQueue<T extends RequestJobData>(
  { config, logger, onShutdown }: AppContext,
  name: QueueName,
): RequestQueue<T> {
  const connection = createProducerConnection(config.redis.url, `linebacker:${name}:producer`);
  connection.on('error', (err) => logger.debug({ err }, 'Redis producer connection error'));
  const queue = createRequestQueue<T>(name, connection, config.redis.queuePrefix, (err) =>
    logger.debug({ err, queue: name }, 'queue error'),
  );
  onShutdown(`${name} queue`, async () => {
    await queue.close();
    connection.disconnect();
  });
  return queue;
}
