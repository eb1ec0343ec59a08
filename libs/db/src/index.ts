export { ensureDatabase } from './ensure-database.js';
export { migrate } from './migrate.js';
export { prepareDatabase } from './prepare-database.js';
export { createPool, type Pool, type PoolClient, type Queryable, type PoolOptions } from './pool.js';
export { withTransaction } from './transaction.js';
export * from './backup-requests/requests.js';
export * from './backup-jobs/backup-jobs.js';
export * from './api-clients/api-clients.js';
export * from './idempotency-keys/idempotency-keys.js';
export { recordTransition, recordTransitions, type Transition, type TransitionFollowUp } from './backup-requests/transition.js';
export { checkRequest, type CheckedRequest } from './backup-requests/check.js';
export { recordBackupAndSucceed } from './backups/record-backup.js';
export { insertPoisonRecord } from './rejected-replies/insert-poison-record.js';
export * from './reply-inbox/reply-inbox.js';
export { openPool } from './open-pool.js';
export { findRequestsInStatus, requestsStillInStatus, findUnanswered, type StrandedRequest } from './backup-requests/reconciliation.js';
export { AdvisoryLeadership } from './advisory-leadership.js';
export {
  RequestCounts,
  countAllRequests,
  requestStatisticsSchema,
  type RequestCountsOptions,
  type RequestStatistics,
} from './backup-requests/statistics.js';
export { EXPIRING_ROWS, deleteExpiredRows, type ExpiringRows } from './retention/expiring-rows.js';
export * from './browser-sessions/browser-sessions.js';
export {
  STAGES,
  readMinuteStatistics,
  type MinuteStatistics,
  type Stage,
  type StageLatency,
} from './backup-requests/minute-statistics.js';
export { readEventsAfter, type ReadEventsOptions, type EventsRead } from './events/read-events.js';
export { latestFinalEventId } from './events/latest-event-id.js';
export * from './webhooks/endpoints.js';
export * from './webhooks/fan-out.js';
export * from './webhooks/deliveries.js';
export { createWebhookEndpoint } from './webhooks/create-endpoint.js';
