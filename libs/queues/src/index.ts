export { QUEUES, type QueueName } from './queue-names.js';
export type { RequestJobData } from './payloads.js';
export { createProducerConnection, createWorkerConnection, isRedisReady, waitUntilReady, type Redis } from './redis-connection.js';
export { createRequestQueue, addRequestJob, RETENTION, type RequestQueue } from './request-queue.js';
export { evictionPolicyProblem } from './eviction-policy.js';
