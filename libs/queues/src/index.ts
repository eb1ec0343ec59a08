export { QUEUES, type QueueName } from './queue-names.js';
export {
  requestJobData,
  STATUS_JOB_REPLY_MAX_CHARS,
  statusReceivedJobData,
  statusReceivedJobId,
  type AllowedJobData,
  type RequestJobData,
  type StatusReceivedJobData,
} from './payloads.js';
export {
  clientRecipe,
  createProducerConnection,
  createRedisConnection,
  createWorkerConnection,
  waitUntilReady,
  type ConnectionRole,
  type RedisClient,
} from './redis-connection.js';
export { createRequestQueue, addRequestJob, type RequestQueue } from './request-queue.js';
export { evictionPolicyProblem } from './eviction-policy.js';
export { classifyFailure, retryDecision, type FailureKind, type RetryDecision } from './retry-policy.js';
export { createRequestWorker, type RequestWorkerOptions, type StepJob, type StepOutcome } from './request-worker.js';
export { startStepWorker, openProducerQueue, openCounters, openEventWakeups } from './step-worker.js';
export { queueStatistics, queueStatisticsSchema, type QueueStatistics } from './queue-statistics.js';
export { PipelineCounters, countersKey, readCounters } from './pipeline-counters.js';
export { counterField, parseCounterField, type CounterKey } from './counter-keys.js';
export {
  instanceRecordSchema,
  liveInstanceSchema,
  readInstances,
  writeInstance,
  removeInstance,
  instanceKey,
  instanceIndexKey,
  MISSED_BEATS_UNTIL_GONE,
  type InstanceRecord,
  type LiveInstance,
} from './instance-registry.js';
export { announceInstance, instanceIdentity, startInstanceHeartbeat, type InstanceHeartbeat, type InstanceIdentity } from './instance-heartbeat.js';
export {
  WakeupPublisher,
  WAKEUP_MIN_INTERVAL_MS,
  deliveryWakeupChannel,
  eventWakeupChannel,
  openWakeupPublisher,
  subscribeToEventWakeups,
  subscribeToWakeups,
  type WakeupSubscription,
} from './wakeups.js';
