import type { Logger } from 'pino';
import { parseStatusReply } from '@linebacker/domain';
import type { MessageQueue, ReceivedMessage } from '@linebacker/interface-queue';
import {
  QUEUES,
  statusReceivedJobData,
  statusReceivedJobId,
  type PipelineCounters,
  type RequestQueue,
  type StatusReceivedJobData,
} from '@linebacker/queues';

export interface ReceiveRepliesDeps {
  statuses: Pick<MessageQueue, 'receive' | 'delete' | 'name'>;
  poison: Pick<MessageQueue, 'send'>;
  statusReceived: Pick<RequestQueue<StatusReceivedJobData>, 'addBulk'>;
  batchSize: number;
  visibilityTimeoutSeconds: number;
  log: Logger;
  counters?: Pick<PipelineCounters, 'add'>;
}

/** What lands in the poison queue: the original text and why it was refused. */
export interface PoisonMessage {
  reason: string;
  sourceQueue: string;
  messageId: string;
  dequeueCount: number;
  poisonedAt: string;
  text: string;
}

/**
 * One poll of the interface status queue (SPEC §4, §6 "External queue receiver"):
 * valid replies become `status-received` jobs (keyed by request and result) in one addBulk, and
 * their messages are deleted only after that add succeeded; invalid ones are copied to the poison
 * queue with the reason, then deleted. If Redis or the poison queue is down this throws before
 * deleting anything, and the messages come back after their visibility timeout.
 */
export async function receiveReplies(deps: ReceiveRepliesDeps): Promise<number> {
  const messages = await deps.statuses.receive(deps.batchSize, deps.visibilityTimeoutSeconds);
  if (messages.length === 0) return 0;

  const jobs: Parameters<ReceiveRepliesDeps['statusReceived']['addBulk']>[0] = [];
  const poisoned: { message: ReceivedMessage; reason: string }[] = [];
  for (const message of messages) {
    const parsed = parseStatusReply(message.text);
    if (parsed.ok) {
      const { reply } = parsed;
      deps.log.debug({ backupRequestId: reply.backupRequestId, traceId: reply.traceId, result: reply.resultTypeCode }, 'reply received');
      jobs.push({
        name: QUEUES.statusReceived,
        data: statusReceivedJobData(reply),
        opts: { jobId: statusReceivedJobId(reply) },
      });
    } else {
      poisoned.push({ message, reason: parsed.reason });
    }
  }

  // jobs first: re-adding a job is harmless, re-sending a poison copy is not
  if (jobs.length > 0) await deps.statusReceived.addBulk(jobs);
  await Promise.all(
    poisoned.map(({ message, reason }) => {
      const poison: PoisonMessage = {
        reason,
        sourceQueue: deps.statuses.name,
        messageId: message.messageId,
        dequeueCount: message.dequeueCount,
        poisonedAt: new Date().toISOString(),
        text: message.text,
      };
      deps.log.warn({ messageId: message.messageId, reason }, 'invalid reply moved to the poison queue');
      return deps.poison.send(JSON.stringify(poison));
    }),
  );

  // Only now is every message safe elsewhere. A failed delete is harmless: the message comes back
  // and is added again under the same job id.
  const deletions = await Promise.allSettled(messages.map((message) => deps.statuses.delete(message)));
  const failed = deletions.filter((d) => d.status === 'rejected').length;
  deps.counters?.add({ kind: 'reply', outcome: 'received' }, jobs.length);
  deps.counters?.add({ kind: 'reply', outcome: 'poisoned' }, poisoned.length);
  if (failed > 0) deps.log.warn({ failed }, 'some handled replies could not be deleted; they will be seen again');
  return messages.length;
}
