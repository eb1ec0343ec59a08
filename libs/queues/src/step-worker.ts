import type { Worker } from 'bullmq';
import type { AppContext } from '@linebacker/runtime';
import type { QueueName } from './queue-names.js';
import type { RequestJobData } from './payloads.js';
import { createProducerConnection, createWorkerConnection } from './redis-connection.js';
import { createRequestQueue, type RequestQueue } from './request-queue.js';
import { PipelineCounters, countersKey } from './pipeline-counters.js';
import { createRequestWorker, type RequestWorkerOptions } from './request-worker.js';
import { eventWakeupChannel, openWakeupPublisher, type WakeupPublisher } from './wakeups.js';

type StepOptions<T extends RequestJobData> = Pick<
  RequestWorkerOptions<T>,
  'queue' | 'concurrency' | 'handle' | 'onGiveUp' | 'probe' | 'counters'
>;

/**
 * Starts the worker of one pipeline step on its own blocking Redis connection, and registers its
 * graceful close (in-flight jobs finish) with the app's shutdown. Resolves once it is consuming.
 * Each job that changed a status publishes an event wake-up (coalesced, wakeups.ts).
 */
export async function startStepWorker<T extends RequestJobData>(
  context: AppContext,
  step: StepOptions<T>,
): Promise<Worker<T>> {
  const { config, logger, onShutdown, work } = context;
  const connection = createWorkerConnection(config.redis, `linebacker:${step.queue}:worker`);
  connection.on('error', (err) => logger.debug({ err }, 'Redis worker connection error'));
  const counters = step.counters ?? openCounters(context);
  const wakeups = openEventWakeups(context);
  const worker = createRequestWorker<T>({
    ...step,
    // jobs in progress, for the instance registry (activeJobs)
    handle: (data, log, job) => work.track(() => step.handle(data, log, job)),
    onChanged: () => wakeups.notify(),
    connection,
    prefix: config.redis.queuePrefix,
    retry: config.retry,
    retention: config.jobRetention,
    logger,
    counters,
  });
  onShutdown(`${step.queue} worker`, async () => {
    await worker.close();
    connection.disconnect();
  });
  await worker.waitUntilReady();
  return worker;
}

/**
 * Event wake-ups (SPEC §8) published after status changes this process commits, on a connection of
 * their own, closed with the app (after a last wake-up still waiting).
 */
export function openEventWakeups({ config, onShutdown }: AppContext): WakeupPublisher {
  const { publisher, close } = openWakeupPublisher(config.redis, eventWakeupChannel(config.redis.queuePrefix), 'linebacker:event-wakeups');
  onShutdown('event wake-ups', close);
  return publisher;
}

/** The app's pipeline counters, on a connection of their own, flushed once more at shutdown. */
export function openCounters({ config, logger, onShutdown }: AppContext): PipelineCounters {
  const connection = createProducerConnection(config.redis, 'linebacker:counters');
  connection.on('error', (err) => logger.debug({ err }, 'Redis counters connection error'));
  const counters = new PipelineCounters(connection, countersKey(config.redis.queuePrefix));
  onShutdown('pipeline counters', async () => {
    await counters.close();
    connection.disconnect();
  });
  return counters;
}

/** A queue the app adds jobs to, on a fail-fast connection, closed with the app. */
export function openProducerQueue<T extends RequestJobData>(
  { config, logger, onShutdown }: AppContext,
  name: QueueName,
): RequestQueue<T> {
  const connection = createProducerConnection(config.redis, `linebacker:${name}:producer`);
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
