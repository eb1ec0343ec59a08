/** BullMQ queue names: wire contracts between the apps (SPEC §1). Never rename one in place. */
export const QUEUES = {
  created: 'created',
  allowed: 'allowed',
  statusReceived: 'status-received',
} as const;

export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];
