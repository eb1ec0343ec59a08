export { QUEUES, type QueueName } from './queue-names.js';
export { statusReceivedJobId, type AllowedJobData, type RequestJobData, type StatusReceivedJobData } from './payloads.js';
export { createProducerConnection, createWorkerConnection, isRedisReady, waitUntilReady, type Redis } from './redis-connection.js';
export { createRequestQueue, addRequestJob, RETENTION, type RequestQueue } from './request-queue.js';
export { evictionPolicyProblem } from './eviction-policy.js';
export { classifyFailure, retryDecision, type FailureKind, type RetryDecision } from './retry-policy.js';
export { createRequestWorker, type RequestWorkerOptions, type StepJob, type StepOutcome } from './request-worker.js';
export { isRedisUnavailable } from './redis-unavailable.js';
export { startStepWorker, openProducerQueue } from './step-worker.js';
