import type { Logger } from 'pino';
import { insertPoisonRecord, storeReplies, type IncomingReply, type Queryable, type StoredReply } from '@linebacker/db';
import { PermanentError, parseStatusReply } from '@linebacker/domain';
import { poisonRecord, type MessageQueue, type ReceivedMessage } from '@linebacker/interface-queue';
import {
  QUEUES,
  STATUS_JOB_REPLY_MAX_CHARS,
  statusReceivedJobData,
  statusReceivedJobId,
  type PipelineCounters,
  type RequestQueue,
  type StatusReceivedJobData,
} from '@linebacker/queues';

export interface ReceiveRepliesDeps {
  statuses: Pick<MessageQueue, 'receive' | 'delete' | 'name'>;
  poison: Pick<MessageQueue, 'send'>;
  /** Postgres: the reply inbox, and rejected replies for what the poison queue refuses. */
  db: Queryable;
  statusReceived: Pick<RequestQueue<StatusReceivedJobData>, 'addBulk'>;
  batchSize: number;
  visibilityTimeoutSeconds: number;
  /** A message received more often than this was never handled: it goes to the poison queue. */
  maxDequeueCount: number;
  log: Pick<Logger, 'debug' | 'warn' | 'error'>;
  counters?: Pick<PipelineCounters, 'add'>;
}

interface ValidReply {
  message: ReceivedMessage;
  incoming: IncomingReply;
}

interface BadMessage {
  message: ReceivedMessage;
  reason: string;
}

/**
 * One poll of the interface status queue (SPEC §4, §6 "External queue receiver"). Every message of
 * the batch is handled on its own, and deleted only once it is safe elsewhere:
 * - a valid reply is stored in the reply inbox (one multi-row INSERT for the batch), then its
 *   `status-received` wake-up job is added (best effort: reconciliation re-adds the job of any
 *   inbox row not applied, so a Redis failure here loses nothing) while its message is deleted;
 * - a message that is not a valid reply, that Postgres refuses to store, or that was delivered more
 *   than `maxDequeueCount` times, is copied to the poison queue with the reason (poisonRecord: cut
 *   to fit, with the original's length and SHA-256), or kept in rejected_replies when the poison
 *   queue refuses the record, then deleted.
 * When Postgres is unavailable the valid replies stay in the interface queue (they come back after
 * their visibility timeout) while the rest of the batch is still handled; then this throws, so the
 * poll loop backs off.
 */
export async function receiveReplies(deps: ReceiveRepliesDeps): Promise<number> {
  const messages = await deps.statuses.receive(deps.batchSize, deps.visibilityTimeoutSeconds);
  if (messages.length === 0) return 0;

  const { valid, bad } = triage(messages, deps.maxDequeueCount);
  const { stored, refused, unavailable } = await storeDurably(deps.db, deps.statuses.name, valid);
  const poisoned = await Promise.all([...bad, ...refused].map((entry) => moveToPoison(deps, entry)));

  const storedMessages = new Set(stored.map((reply) => reply.messageId));
  const safe = [...valid.filter((reply) => storedMessages.has(reply.message.messageId)).map((reply) => reply.message), ...poisoned.flatMap((m) => m ?? [])];
  const [, deletions] = await Promise.all([wake(deps, stored, valid), Promise.allSettled(safe.map((message) => deps.statuses.delete(message)))]);

  const failed = deletions.filter((deletion) => deletion.status === 'rejected').length;
  deps.counters?.add({ kind: 'reply', outcome: 'received' }, stored.length);
  if (failed > 0) deps.log.warn({ failed }, 'some handled replies could not be deleted; they will be seen again');
  if (unavailable) throw unavailable;
  return messages.length;
}

/** Valid replies, and the messages that cannot be replies (with why). */
function triage(messages: ReceivedMessage[], maxDequeueCount: number): { valid: ValidReply[]; bad: BadMessage[] } {
  const valid: ValidReply[] = [];
  const bad: BadMessage[] = [];
  for (const message of messages) {
    if (message.dequeueCount > maxDequeueCount) {
      bad.push({ message, reason: `delivered ${message.dequeueCount} times without being handled (limit ${maxDequeueCount})` });
      continue;
    }
    const parsed = parseStatusReply(message.text);
    if (parsed.ok) valid.push({ message, incoming: { messageId: message.messageId, reply: parsed.reply } });
    else bad.push({ message, reason: parsed.reason });
  }
  return { valid, bad };
}

/**
 * Stores the valid replies in one INSERT. When Postgres refuses the batch's data (a data exception:
 * PermanentError), each reply is stored on its own, so the one it refuses goes to the poison queue
 * and never holds back the others. When Postgres is unavailable nothing is stored (`unavailable`).
 */
async function storeDurably(
  db: Queryable,
  sourceQueue: string,
  valid: ValidReply[],
): Promise<{ stored: StoredReply[]; refused: BadMessage[]; unavailable?: Error }> {
  try {
    return { stored: await storeReplies(db, sourceQueue, valid.map((reply) => reply.incoming)), refused: [] };
  } catch (err) {
    if (!(err instanceof PermanentError)) return { stored: [], refused: [], unavailable: err as Error };
  }
  const stored: StoredReply[] = [];
  const refused: BadMessage[] = [];
  for (const reply of valid) {
    try {
      stored.push(...(await storeReplies(db, sourceQueue, [reply.incoming])));
    } catch (err) {
      if (!(err instanceof PermanentError)) return { stored, refused, unavailable: err as Error };
      refused.push({ message: reply.message, reason: `the reply inbox refused it: ${err.message}` });
    }
  }
  return { stored, refused };
}

/**
 * The poison queue, or rejected_replies when the poison queue refuses the record. Resolves to the
 * message once it is safe elsewhere; undefined when neither took it (it stays in the interface
 * queue, comes back and counts towards maxDequeueCount).
 */
async function moveToPoison(deps: ReceiveRepliesDeps, { message, reason }: BadMessage): Promise<ReceivedMessage | undefined> {
  const record = poisonRecord(message, reason, deps.statuses.name);
  deps.log.warn({ messageId: message.messageId, dequeueCount: message.dequeueCount, reason }, 'reply moved to the poison queue');
  try {
    await deps.poison.send(record);
    deps.counters?.add({ kind: 'reply', outcome: 'poisoned' });
    return message;
  } catch (err) {
    deps.log.warn({ err, messageId: message.messageId }, 'the poison queue refused the record: keeping it in rejected_replies');
  }
  try {
    await insertPoisonRecord(deps.db, message.messageId, reason, record);
    deps.counters?.add({ kind: 'reply', outcome: 'poison-kept-in-postgres' });
    return message;
  } catch (err) {
    deps.log.error({ err, messageId: message.messageId }, 'neither the poison queue nor Postgres took the record; the message stays');
    return undefined;
  }
}

/** Adds the wake-up job of every stored reply not applied yet; a failure is logged, not thrown. */
async function wake(deps: ReceiveRepliesDeps, stored: StoredReply[], valid: ValidReply[]): Promise<void> {
  const replies = new Map(valid.map((reply) => [reply.message.messageId, reply]));
  const jobs = stored
    .filter((entry) => !entry.applied)
    .map((entry) => {
      const { message, incoming } = replies.get(entry.messageId)!;
      const reply = incoming.reply;
      deps.log.debug({ backupRequestId: reply.backupRequestId, traceId: reply.traceId, result: reply.resultTypeCode }, 'reply received');
      // a copy of a small reply saves receive-status a read of the inbox row (payloads.ts)
      const copy = message.text.length <= STATUS_JOB_REPLY_MAX_CHARS ? { reply } : {};
      return {
        name: QUEUES.statusReceived,
        data: statusReceivedJobData({ ...entry, backupRequestId: reply.backupRequestId, traceId: reply.traceId, ...copy }),
        opts: { jobId: statusReceivedJobId(entry.inboxId) },
      };
    });
  if (jobs.length === 0) return;
  try {
    await deps.statusReceived.addBulk(jobs);
  } catch (err) {
    deps.log.warn({ err, replies: jobs.length }, 'could not wake receive-status; reconciliation will (the replies are in the inbox)');
  }
}
