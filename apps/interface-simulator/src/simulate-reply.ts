import { createHash } from 'node:crypto';
import { INTERFACE_API_VERSION, type OutboundBackupRequest, type StatusReply } from '@linebacker/domain';
import { uniformFrom, type SimulatedOutcome } from './simulated-outcome.js';

const FAILURE_REASONS = [
  'storage path is not writable',
  'prepared data not found',
  'verification hash mismatch',
  'provider quota exceeded',
] as const;

/** How a malformed reply is malformed; each one must be rejected by `parseStatusReply`. */
export const MALFORMED_VARIANTS = ['not-json', 'missing-backup-request-id', 'unknown-result-type', 'negative-byte-count'] as const;
export type MalformedVariant = (typeof MALFORMED_VARIANTS)[number];

function pick<T>(values: readonly T[], seed: string): T {
  return values[Math.floor(uniformFrom(seed) * values.length)] as T;
}

/** The malformed variant a request gets, deterministic per request id. */
export function malformedVariantFor(backupRequestId: string): MalformedVariant {
  return pick(MALFORMED_VARIANTS, `malformed:${backupRequestId}`);
}

/** A plausible backup size between 1 MiB and 10 GiB, deterministic per request id. */
export function simulatedByteCount(backupRequestId: string): number {
  const min = 2 ** 20;
  const max = 10 * 2 ** 30;
  return min + Math.floor(uniformFrom(`bytes:${backupRequestId}`) * (max - min));
}

function shift(now: Date, ms: number): string {
  return new Date(now.getTime() + ms).toISOString();
}

/**
 * The reply TEXT the simulated interface sends for `message` (SPEC §4). Pure: the same message,
 * outcome and `now` always give the same text. Timestamps lie just before `now` (copy, then verify,
 * ending at `now`). Every reply, malformed ones included, carries the backupRequestId somewhere in
 * its text, so a test can tell which request it answers.
 */
export function replyFor(message: OutboundBackupRequest, outcome: SimulatedOutcome, now: Date): string {
  const id = message.backupRequestId;
  const common = {
    apiVersion: INTERFACE_API_VERSION,
    backupRequestId: id,
    storagePathName: message.storagePathName,
    copyStartTimestamp: shift(now, -3_000),
    copyEndTimestamp: shift(now, -1_000),
    traceId: message.traceId,
  };
  if (outcome === 'Failed') {
    // the copy failed, so nothing was verified: no verify timestamps, no hash
    const reply: StatusReply = {
      ...common,
      resultTypeCode: 'Failed',
      backupByteCount: 0,
      messageText: `simulated failure: ${pick(FAILURE_REASONS, `failure:${id}`)}`,
    };
    return JSON.stringify(reply);
  }
  const succeeded: StatusReply = {
    ...common,
    resultTypeCode: 'Succeeded',
    backupByteCount: simulatedByteCount(id),
    verifyStartTimestamp: shift(now, -1_000),
    verifyEndTimestamp: now.toISOString(),
    verifiedHash: `sha256:${createHash('sha256').update(`${id}\n${message.storagePathName}`).digest('hex')}`,
  };
  if (outcome === 'Succeeded') return JSON.stringify(succeeded);

  switch (malformedVariantFor(id)) {
    case 'not-json':
      return `not json: backup ${id} finished at ${now.toISOString()}`;
    case 'missing-backup-request-id': {
      // a misspelt key instead of backupRequestId
      const { backupRequestId: _omitted, ...rest } = succeeded;
      return JSON.stringify({ ...rest, requestId: id });
    }
    case 'unknown-result-type':
      return JSON.stringify({ ...succeeded, resultTypeCode: 'Maybe' });
    case 'negative-byte-count':
      return JSON.stringify({ ...succeeded, backupByteCount: -succeeded.backupByteCount });
  }
}
