import { canTransition, statusesLeadingTo, truncateReason, type BackupRequest, type RequestStatus } from '@linebacker/domain';
import type { Queryable } from '../pool.js';
import { preparedStatement } from '../prepared-statement.js';

/** The timestamp column set by the step that makes each change (SPEC §2.1). */
const STEP_TIMESTAMP: Partial<Record<RequestStatus, string>> = {
  Allowed: 'checked_at',
  NotAllowed: 'checked_at',
  Sent: 'sent_at',
  Succeeded: 'replied_at',
  Failed: 'replied_at',
};

export type RecordedTransition = Pick<BackupRequest, 'status' | 'statusReason' | 'traceId'>;

export interface Transition {
  backupRequestId: string;
  to: RequestStatus;
  reason?: string | undefined;
  /** For Allowed: copied from the backup job. */
  backupProviderCode?: string | undefined;
  storagePathName?: string | undefined;
  /**
   * Only from these statuses (default: every status that may lead to `to`); those that may not
   * lead to `to` are ignored. For a decision taken on a status read earlier.
   */
  from?: readonly RequestStatus[] | undefined;
  /**
   * Only if the request's storage_path_name is this one: for a reply applied on an assumption
   * (receive-status's usual case), the reply's path must be the request's (libs/domain replyAction).
   */
  storagePathNameIs?: string | undefined;
}

/**
 * Work that must succeed in the same statement for the transition to happen: SQL CTEs (`name AS
 * (...)`, comma-separated) whose last one, `gate`, yields the `backup_request_id` allowed to move.
 * `$1` is the array of request ids, `$3` the statuses it may move from; their own parameters are
 * numbered from $7. `requires` is the move's further condition (a follow-up's, `AND ...`, or
 * empty): the gate does its work only where it holds.
 */
export interface TransitionGate {
  ctes: (requires: string) => string;
  params: unknown[];
}

/**
 * Work done in the same statement only when the request moved: SQL CTEs that may read `moved` (the
 * rows the UPDATE returned), with their parameters numbered from `first` (given by the statement);
 * and, when `requires` is given, a further condition of the move itself (an SQL boolean, with the
 * same parameters).
 */
export interface TransitionFollowUp {
  ctes: (first: number) => string;
  requires?: (first: number) => string;
  params: unknown[];
}

/** The statuses a request may move to `to` from: `from` where the rules allow it, else all that may. */
const movableFrom = (transition: Pick<Transition, 'to' | 'from'>): RequestStatus[] =>
  transition.from ? transition.from.filter((from) => canTransition(from, transition.to)) : statusesLeadingTo(transition.to);

/**
 * The one statement that changes a request's status (SPEC §2.2): a conditional UPDATE, `... WHERE
 * id = ANY(ids) AND status = ANY(<statuses the rules let move to the target>)`. The history row is
 * written by the database (migration status-history-trigger), in the same transaction. Returns the
 * requests that moved.
 */
async function transition(
  db: Queryable,
  ids: string[],
  change: Omit<Transition, 'backupRequestId'>,
  gate?: TransitionGate,
  followUp?: TransitionFollowUp,
): Promise<(RecordedTransition & { backupRequestId: string })[]> {
  const timestampColumn = STEP_TIMESTAMP[change.to];
  const setTimestamp = timestampColumn ? `, ${timestampColumn} = now()` : '';
  const extraParams = [...(gate?.params ?? []), ...(followUp?.params ?? [])];
  const pathParams = change.storagePathNameIs === undefined ? [] : [change.storagePathNameIs];
  const pathCondition = pathParams.length ? `AND storage_path_name = $${7 + extraParams.length}` : '';
  const followUpFirst = 7 + (gate?.params.length ?? 0);
  const required = followUp?.requires ? `AND ${followUp.requires(followUpFirst)}` : '';
  const update = `UPDATE backup_requests SET status = $2, status_reason = $4,
         backup_provider_code = coalesce($5, backup_provider_code),
         storage_path_name = coalesce($6, storage_path_name)${setTimestamp}
       WHERE backup_request_id = ANY ($1::uuid[]) AND status = ANY ($3::text[]) ${pathCondition} ${required}
         ${gate ? 'AND backup_request_id IN (SELECT backup_request_id FROM gate)' : ''}
       RETURNING backup_request_id AS "backupRequestId", status, status_reason AS "statusReason", trace_id AS "traceId"`;
  const statement = followUp
    ? `WITH ${[gate?.ctes(required), `moved AS (${update})`, followUp.ctes(followUpFirst)].filter(Boolean).join(', ')}
       SELECT * FROM moved`
    : `${gate ? `WITH ${gate.ctes(required)} ` : ''}${update}`;
  const { rows } = await db.query<RecordedTransition & { backupRequestId: string }>({
    ...preparedStatement(statement),
    values: [
      ids,
      change.to,
      movableFrom(change),
      change.reason === undefined ? null : truncateReason(change.reason),
      change.backupProviderCode ?? null,
      change.storagePathName ?? null,
      ...extraParams,
      ...pathParams,
    ],
  });
  return rows;
}

/**
 * Moves one request (transition above), conditionally on its status, and with `gate` only when the
 * gate's work succeeds in the same statement, and with `followUp` done in that statement too. Returns the new status and reason and the request's
 * trace id, or undefined when the request was not in a status that allows the move (already past
 * this step, or unknown), or the gate let nothing through. (Not the whole row: parsing it,
 * timestamps and all, is CPU spent on every step.)
 */
export async function recordTransition(
  db: Queryable,
  change: Transition,
  gate?: TransitionGate,
  followUp?: TransitionFollowUp,
): Promise<RecordedTransition | undefined> {
  return (await transition(db, [change.backupRequestId], change, gate, followUp))[0];
}

/** Moves several requests the same way (transition above); returns the ids of those that moved. */
export async function recordTransitions(db: Queryable, ids: string[], change: Omit<Transition, 'backupRequestId'>): Promise<string[]> {
  return (await transition(db, ids, change)).map((moved) => moved.backupRequestId);
}
