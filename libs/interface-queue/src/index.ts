export type { InterfaceQueues, MessageQueue, ReceivedMessage } from './interface-queue.js';
export {
  createAzureMessageQueue,
  createInterfaceQueues,
  type AzureMessageQueueOptions,
  type InterfaceQueueSettings,
} from './azure-message-queue.js';
export { startPollLoop, type PollLoop, type PollLoopOptions } from './poll-loop.js';
export { openInterfaceQueues } from './open-interface-queues.js';
export { createSendWindow, type SendWindow, type SendWindowOptions, type SendWindowState } from './send-window.js';
export { poisonRecord, wireBytes, MAX_RECORD_WIRE_BYTES, type PoisonRecord } from './poison-record.js';
