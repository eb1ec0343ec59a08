import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { RetryConfig } from '@linebacker/config';
import type { QueueName } from './queue-names.js';
import type { RequestJobData } from './payloads.js';
import { classifyFailure, retryDecision } from './retry-policy.js';
import { RETENTION } from './request-queue.js';

/** What a step did: its work, or nothing because the request was already past it. */
export type StepOutcome = 'done' | 'no-op';

export interface RequestWorkerOptions<T extends RequestJobData> {
  queue: QueueName;
  connection: Redis;
  prefix: string;
  concurrency: number;
  retry: RetryConfig;
  logger: Logger;
  /** The step itself: `(payload, logger) → outcome`; throws to fail. */
  handle: (data: T, log: Logger) => Promise<StepOutcome>;
  isConnectionFailure: (err: unknown) => boolean;
  /** Records on the request why the step gave up (may throw; then the job is retried later). */
  onGiveUp?: (data: T, reason: string, log: Logger) => Promise<void>;
}

const errorMessage = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * A BullMQ worker running one pipeline step with the retry policy of SPEC §6, in one place:
 * failures are retried through `moveToDelayed` + `DelayedError` with our own attempt counter in the
 * job data; giving up (permanent, too old, too many attempts) records why and fails the job with
 * `UnrecoverableError`, so BullMQ's own attempts never come into play.
 */
export function createRequestWorker<T extends RequestJobData>(options: RequestWorkerOptions<T>): Worker<T> {
  const { logger, retry } = options;

  const processor = async (job: Job<T>, token?: string): Promise<StepOutcome> => {
    const log = logger.child({
      queue: options.queue,
      jobId: job.id,
      backupRequestId: job.data.backupRequestId,
      traceId: job.data.traceId,
    });
    try {
      const outcome = await options.handle(job.data, log);
      log.debug({ outcome }, 'step finished');
      return outcome;
    } catch (err) {
      const kind = classifyFailure(err, options.isConnectionFailure);
      const attempt = (job.data.attempt ?? 0) + 1;
      const receivedAt = job.data.receivedAt ? Date.parse(job.data.receivedAt) : job.timestamp;
      const decision = retryDecision(kind, attempt, Date.now() - receivedAt, retry);
      if (!decision.retry) {
        const reason = `${options.queue}: ${errorMessage(err)} (${decision.reason})`;
        try {
          await options.onGiveUp?.(job.data, reason, log);
          log.error({ err, kind, attempt }, 'step gave up');
          throw new UnrecoverableError(reason);
        } catch (giveUpErr) {
          if (giveUpErr instanceof UnrecoverableError) throw giveUpErr;
          log.warn({ err: giveUpErr }, 'could not record giving up; retrying later');
        }
      }
      const delayMs = decision.retry ? decision.delayMs : retry.maxMs;
      log.warn({ err, kind, attempt, delayMs }, 'step failed; retrying');
      await job.updateData({ ...job.data, attempt });
      await job.moveToDelayed(Date.now() + delayMs, token);
      throw new DelayedError();
    }
  };

  const worker = new Worker<T, StepOutcome>(options.queue, processor, {
    connection: options.connection,
    prefix: options.prefix,
    concurrency: options.concurrency,
    removeOnComplete: RETENTION.completed,
    removeOnFail: RETENTION.failed,
  });
  worker.on('error', (err) => logger.warn({ err, queue: options.queue }, 'worker error'));
  worker.on('stalled', (jobId) => logger.warn({ jobId, queue: options.queue }, 'job stalled; it will run again'));
  return worker;
}
