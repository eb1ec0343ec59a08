import { QueueServiceClient, type QueueClient, type StoragePipelineOptions } from '@azure/storage-queue';
import { toInterfaceError } from './interface-errors.js';
import type { InterfaceQueues, MessageQueue, ReceivedMessage } from './interface-queue.js';

/**
 * The MessageQueue port on an Azure Storage queue (or Azurite), with @azure/storage-queue.
 *
 * Retries: the SDK pipeline retries an operation on network errors, 500 and 503. Left at its
 * defaults (4 tries, exponential delays from 4 s, no client-side timeout) one call against a
 * stopped service takes ~16 s and against a hung one forever, far beyond a BullMQ job lock. Here the
 * SDK gets 2 tries (the retry follows at once: it is there for a pooled keep-alive socket the
 * server has closed), and every operation has a client-side deadline covering both. Anything
 * longer is our own retry policy's business (libs/queues: moveToDelayed with backoff). Every
 * operation rejects with a DependencyUnavailableError or a PermanentError (interface-errors.ts).
 */
export interface AzureMessageQueueOptions {
  /** Tries per operation inside the SDK, the first one included (default 2). */
  maxTries?: number;
  /**
   * Deadline of one operation, SDK retries included (default 15 000 ms). When it passes, the
   * operation rejects with a `TimeoutError` (code ETIMEDOUT). Each try also asks the service to
   * give up after `min(deadline, 10 s)` (the `timeout` parameter of the REST API).
   */
  operationTimeoutMs?: number;
}

const DEFAULT_MAX_TRIES = 2;
const DEFAULT_OPERATION_TIMEOUT_MS = 15_000;
const MAX_TRY_TIMEOUT_MS = 10_000;
/** Azure's bounds for Get Messages. */
const MAX_RECEIVE = 32;

/** One queue of the storage account behind `connectionString`. */
export function createAzureMessageQueue(
  connectionString: string,
  queueName: string,
  options: AzureMessageQueueOptions = {},
): MessageQueue {
  return createQueue(createServiceClient(connectionString, options), queueName, options);
}

/** Where the three interface queues are (SPEC §4): the storage account and the queue names. */
export interface InterfaceQueueSettings {
  connectionString: string;
  requestQueue: string;
  statusQueue: string;
  poisonQueue: string;
}

/** The three interface queues (SPEC §4), sharing one service client. */
export function createInterfaceQueues(settings: InterfaceQueueSettings, options: AzureMessageQueueOptions = {}): InterfaceQueues {
  const service = createServiceClient(settings.connectionString, options);
  return {
    requests: createQueue(service, settings.requestQueue, options),
    statuses: createQueue(service, settings.statusQueue, options),
    poison: createQueue(service, settings.poisonQueue, options),
  };
}

function createServiceClient(connectionString: string, options: AzureMessageQueueOptions): QueueServiceClient {
  const operationTimeoutMs = options.operationTimeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS;
  const pipelineOptions: StoragePipelineOptions = {
    retryOptions: {
      maxTries: options.maxTries ?? DEFAULT_MAX_TRIES,
      // only sets the REST `timeout` parameter (whole seconds, server side); the client-side
      // deadline is the abort signal in createQueue
      tryTimeoutInMs: Math.max(1_000, Math.min(operationTimeoutMs, MAX_TRY_TIMEOUT_MS)),
    },
  };
  return QueueServiceClient.fromConnectionString(connectionString, pipelineOptions);
}

function createQueue(service: QueueServiceClient, name: string, options: AzureMessageQueueOptions): MessageQueue {
  const client: QueueClient = service.getQueueClient(name);
  const operationTimeoutMs = options.operationTimeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS;

  /**
   * Runs one SDK call under the operation deadline (an abort becomes a TimeoutError), and turns
   * its failure into the failure classes (toInterfaceError).
   */
  const withDeadline = async <T>(operation: string, call: (abortSignal: AbortSignal) => Promise<T>): Promise<T> => {
    const abortSignal = AbortSignal.timeout(operationTimeoutMs);
    try {
      return await call(abortSignal);
    } catch (err) {
      if (!abortSignal.aborted) throw toInterfaceError(err);
      throw toInterfaceError(
        Object.assign(new Error(`interface queue ${name}: ${operation} timed out after ${operationTimeoutMs} ms`, { cause: err }), {
          name: 'TimeoutError',
          code: 'ETIMEDOUT',
        }),
      );
    }
  };

  return {
    name,

    async ensureExists() {
      await withDeadline('create', (abortSignal) => client.createIfNotExists({ abortSignal }));
    },

    async send(text) {
      // as is: no base64 (the text is JSON; the SDK XML-escapes it on the wire)
      await withDeadline('send', (abortSignal) => client.sendMessage(text, { abortSignal }));
    },

    async receive(max, visibilityTimeoutSeconds) {
      if (!Number.isInteger(max) || max < 1 || max > MAX_RECEIVE) {
        throw new RangeError(`receive: max must be an integer from 1 to ${MAX_RECEIVE}, got ${max}`);
      }
      if (!Number.isInteger(visibilityTimeoutSeconds) || visibilityTimeoutSeconds < 1) {
        throw new RangeError(`receive: visibilityTimeoutSeconds must be an integer >= 1, got ${visibilityTimeoutSeconds}`);
      }
      const response = await withDeadline('receive', (abortSignal) =>
        client.receiveMessages({ numberOfMessages: max, visibilityTimeout: visibilityTimeoutSeconds, abortSignal }),
      );
      return response.receivedMessageItems.map(
        (item): ReceivedMessage => ({
          messageId: item.messageId,
          popReceipt: item.popReceipt,
          text: item.messageText,
          dequeueCount: item.dequeueCount,
        }),
      );
    },

    async delete({ messageId, popReceipt }) {
      return withDeadline('delete', async (abortSignal) => {
        try {
          await client.deleteMessage(messageId, popReceipt, { abortSignal });
          return true;
        } catch (err) {
          if (isGoneOrStale(err)) return false;
          throw err;
        }
      });
    },

    async approximateCount() {
      const properties = await withDeadline('count', (abortSignal) => client.getProperties({ abortSignal }));
      return properties.approximateMessagesCount ?? 0;
    },
  };
}

/**
 * The service's answers to a delete that came too late: 404 MessageNotFound (deleted already, or
 * expired) and 400 PopReceiptMismatch (received again since, so this receipt is stale; Azurite
 * 3.35 answers this one while the message is still in the queue, Azure documents both). A missing
 * queue (404 QueueNotFound) is a configuration problem, not "already gone": that one throws.
 */
function isGoneOrStale(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { statusCode, code } = err as { statusCode?: unknown; code?: unknown };
  return (statusCode === 404 && code !== 'QueueNotFound') || (statusCode === 400 && code === 'PopReceiptMismatch');
}
