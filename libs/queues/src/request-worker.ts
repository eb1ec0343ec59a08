import { setTimeout as sleep } from 'node:timers/promises';
import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { RedisClient } from './redis-connection.js';
import type { Logger } from 'pino';
import { backoffDelayMs } from '@linebacker/domain';
import type { JobRetentionConfig, RetryConfig } from '@linebacker/config';
import type { QueueName } from './queue-names.js';
import type { RequestJobData } from './payloads.js';
import { classifyFailure, retryDecision } from './retry-policy.js';
import type { PipelineCounters } from './pipeline-counters.js';

/** What a step did: its work, or nothing because the request was already past it. */
export type StepOutcome = 'done' | 'no-op';

export interface RequestWorkerOptions<T extends RequestJobData> {
  queue: QueueName;
  connection: RedisClient;
  prefix: string;
  concurrency: number;
  retry: RetryConfig;
  /**
   * How many finished jobs to keep, and how long (LINEBACKER_*_JOB_RETENTION_*). While a job is
   * kept, adding it again (same id) is a no-op; once it is removed, a re-added job runs again and
   * finds its request already past the step in Postgres, or applies a reply that changes nothing
   * the second time: harmless either way, so the retention bounds Redis memory, not correctness.
   */
  retention: JobRetentionConfig;
  logger: Logger;
  /**
   * The step itself: `(payload, logger, job) → outcome`; throws to fail. `job.remember` stores
   * progress in the job data, so that a retry can skip what already happened.
   */
  handle: (data: T, log: Logger, job: StepJob<T>) => Promise<StepOutcome>;
  /**
   * Resolves when the dependencies the step needs answer again. After a connection failure the
   * worker pauses its intake and calls this with growing pauses, then resumes: jobs wait in the
   * queue instead of each burning through its retries while, say, Postgres restarts.
   */
  probe?: () => Promise<unknown>;
  /** Where to count outcomes (`jobs:<queue>:<outcome>`) and processing time (`ms:<queue>`). */
  counters?: Pick<PipelineCounters, 'add'>;
  /** Records on the request why the step gave up (may throw; then the job is retried later). */
  onGiveUp?: (data: T, reason: string, log: Logger) => Promise<void>;
  /**
   * Called after a job's step did its work ('done') or its give-up was recorded: a status may have
   * changed, so status events may have been committed (the event wake-up, wakeups.ts).
   */
  onChanged?: () => void;
}

export interface StepJob<T> {
  remember(data: T): Promise<void>;
  /**
   * true on the job's first run: not a retry, not a stalled job run again (BullMQ counts every
   * start in `attemptsStarted`, retries through moveToDelayed included).
   */
  readonly firstRun: boolean;
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
  let probing = false;
  let closing = false;

  const pauseUntilHealthy = async (probe: () => Promise<unknown>) => {
    probing = true;
    logger.warn({ queue: options.queue }, 'a dependency is unavailable: pausing intake until it answers');
    await worker.pause(true);
    // (a paused worker is not "running": our own flag tells when it closes)
    for (let attempt = 1; !closing; attempt += 1) {
      await sleep(backoffDelayMs(attempt, retry.startMs, retry.maxMs));
      try {
        await probe();
        break;
      } catch {
        // still down
      }
    }
    probing = false;
    if (!closing) {
      await worker.resume();
      logger.info({ queue: options.queue }, 'dependencies answer again: intake resumed');
    }
  };

  const processor = async (job: Job<T>, token?: string): Promise<StepOutcome> => {
    const log = logger.child({
      queue: options.queue,
      jobId: job.id,
      backupRequestId: job.data.backupRequestId,
      traceId: job.data.traceId,
    });
    try {
      const stepJob: StepJob<T> = { remember: (data) => job.updateData(data), firstRun: job.attemptsStarted <= 1 && !job.data.attempt };
      const started = performance.now();
      const outcome = await options.handle(job.data, log, stepJob);
      if (outcome === 'done') options.onChanged?.();
      options.counters?.add({ kind: 'job', step: options.queue, outcome });
      options.counters?.add({ kind: 'step-ms', step: options.queue }, performance.now() - started);
      log.debug({ outcome }, 'step finished');
      return outcome;
    } catch (err) {
      const kind = classifyFailure(err);
      if (kind === 'connection' && options.probe && !probing) void pauseUntilHealthy(options.probe);
      const attempt = (job.data.attempt ?? 0) + 1;
      const receivedAt = job.data.receivedAt ? Date.parse(job.data.receivedAt) : job.timestamp;
      const decision = retryDecision(kind, attempt, Date.now() - receivedAt, retry);
      if (!decision.retry) {
        const reason = `${options.queue}: ${errorMessage(err)} (${decision.reason})`;
        try {
          await options.onGiveUp?.(job.data, reason, log);
          options.onChanged?.();
          log.error({ err, kind, attempt }, 'step gave up');
          options.counters?.add({ kind: 'job', step: options.queue, outcome: 'gave-up' });
          throw new UnrecoverableError(reason);
        } catch (giveUpErr) {
          if (giveUpErr instanceof UnrecoverableError) throw giveUpErr;
          log.warn({ err: giveUpErr }, 'could not record giving up; retrying later');
        }
      }
      const delayMs = decision.retry ? decision.delayMs : retry.maxMs;
      log.warn({ err, kind, attempt, delayMs }, 'step failed; retrying');
      options.counters?.add({ kind: 'job', step: options.queue, outcome: 'retried' });
      await job.updateData({ ...job.data, attempt });
      await job.moveToDelayed(Date.now() + delayMs, token);
      throw new DelayedError();
    }
  };

  const worker = new Worker<T, StepOutcome>(options.queue, processor, {
    connection: options.connection,
    prefix: options.prefix,
    concurrency: options.concurrency,
    removeOnComplete: options.retention.completed,
    removeOnFail: options.retention.failed,
  });
  worker.on('closing', () => {
    closing = true;
  });
  worker.on('error', (err) => logger.warn({ err, queue: options.queue }, 'worker error'));
  worker.on('stalled', (jobId) => logger.warn({ jobId, queue: options.queue }, 'job stalled; it will run again'));
  return worker;
}
