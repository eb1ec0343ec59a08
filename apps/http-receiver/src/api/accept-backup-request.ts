import { createHash } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import type { Logger } from 'pino';
import {
  acceptBackupRequest as storeRequest,
  findStoredResponse,
  saveStoredResponse,
  type AcceptOutcome,
  type Pool,
  type StoredResponse,
} from '@linebacker/db';
import { validateBackupRequestInput, type BackupRequestInput } from '@linebacker/domain';
import { addRequestJob, requestJobData, type RedisClient, type RequestQueue, type WakeupPublisher } from '@linebacker/queues';
import { IDEMPOTENCY_KEY } from './api-schemas.js';
import { Problem, validationProblem } from './problem.js';
import { requestRepresentation } from './representation.js';

export interface AcceptDeps {
  pool: Pool;
  redis: RedisClient;
  createdQueue: RequestQueue;
  /** Event wake-ups: a new request's Received event is committed with it. */
  wakeups: Pick<WakeupPublisher, 'notify'>;
  enqueueTimeoutMs: number;
  logger: Logger;
}

export interface AcceptCommand {
  requesterId: string;
  body: unknown;
  idempotencyKey: string | undefined;
  traceId: string;
}

export interface AcceptResult {
  status: 200 | 202;
  body: ReturnType<typeof requestRepresentation>;
  /** true when answered from a stored Idempotency-Key response. */
  replayed: boolean;
}


class IdempotencyRace extends Error {}

const hashOf = (input: BackupRequestInput): string =>
  createHash('sha256').update(JSON.stringify([input.backupJobId, input.dataDate, input.backupDataLocation])).digest('hex');

function replay(stored: StoredResponse, requestHash: string): AcceptResult {
  if (stored.requestHash !== requestHash) {
    throw new Problem('idempotency-key-reused', 'this Idempotency-Key was already used with a different body');
  }
  return { status: stored.status as 200 | 202, body: stored.body as AcceptResult['body'], replayed: true };
}

/**
 * POST /backup-requests, top to bottom (SPEC §2.3, §5.1, §6 "persist first"):
 * validate → answer a known Idempotency-Key from its stored response → store the request (or find
 * its live duplicate) and the idempotent response in one transaction → after COMMIT, wake the event
 * readers (its Received event) and add the `created` job. A failed add is logged, not reported: the row is safe and recovery adds the job.
 */
export async function acceptBackupRequest(deps: AcceptDeps, command: AcceptCommand): Promise<AcceptResult> {
  const validation = validateBackupRequestInput(command.body);
  const key = command.idempotencyKey;
  if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) {
    const keyError = { field: 'Idempotency-Key', message: 'must be 1-255 visible ASCII characters' };
    throw validationProblem(validation.ok ? [keyError] : [...validation.errors, keyError]);
  }
  if (!validation.ok) throw validationProblem(validation.errors);
  const input = validation.value;
  const newRequest = { backupRequestId: uuidv7(), requesterId: command.requesterId, traceId: command.traceId, ...input };
  if (key === undefined) return accepted(deps, await storeRequest(deps.pool, newRequest));
  const requestHash = hashOf(input);

  const stored = await findStoredResponse(deps.pool, command.requesterId, key);
  if (stored) return replay(stored, requestHash);

  let outcome;
  try {
    outcome = await storeRequest(deps.pool, newRequest, async (tx, { request, created }) => {
      const response = { requestHash, status: created ? 202 : 200, body: requestRepresentation(request) };
      if (!(await saveStoredResponse(tx, command.requesterId, key, response))) throw new IdempotencyRace();
    });
  } catch (err) {
    if (!(err instanceof IdempotencyRace)) throw err;
    // a concurrent request with the same key committed first: answer as it did
    const stored = await findStoredResponse(deps.pool, command.requesterId, key);
    if (!stored) throw new Error('idempotency key vanished after a conflict', { cause: err });
    return replay(stored, requestHash);
  }
  return accepted(deps, outcome);
}

/** After COMMIT: a new request's Received event wakes the event readers, and its `created` job is added. */
async function accepted(deps: AcceptDeps, { request, created }: AcceptOutcome): Promise<AcceptResult> {
  if (created) {
    deps.wakeups.notify();
    const job = requestJobData(request);
    if (!(await addRequestJob(deps.createdQueue, deps.redis, job, deps.enqueueTimeoutMs))) {
      deps.logger.warn(job, 'could not add the created job now (Redis unavailable); recovery will add it');
    }
  }
  return { status: created ? 202 : 200, body: requestRepresentation(request), replayed: false };
}
