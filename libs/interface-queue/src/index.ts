export type { InterfaceQueues, MessageQueue, ReceivedMessage } from './interface-queue.js';
export {
  createAzureMessageQueue,
  createInterfaceQueues,
  type AzureMessageQueueOptions,
} from './azure-message-queue.js';
export { isInterfaceUnavailable } from './interface-errors.js';
export { startPollLoop, type PollLoop, type PollLoopOptions } from './poll-loop.js';
export { ensureQueuesExist } from './ensure-queues.js';
