import { z } from 'zod';
import type { BackupRequest } from './backup-request.js';
import { PermanentError } from './errors/permanent-error.js';
import { UNPAIRED_SURROGATE } from './plain-text.js';

/** The apiVersion of the messages linebacker sends to the backup interface (SPEC §4). */
export const INTERFACE_API_VERSION = '2022-05-22';

/** The outbound message (SPEC §4); `backupRequestId` is the interface's dedupe key. */
export interface OutboundBackupRequest {
  apiVersion: string;
  backupRequestId: string;
  backupJobId: string;
  dataDate: string;
  preparedDataPathName: string;
  storagePathName: string;
  backupProviderCode: string;
  requestedAt: string;
  traceId: string;
}

export function outboundMessage(request: BackupRequest): OutboundBackupRequest {
  if (!request.storagePathName || !request.backupProviderCode) {
    throw new PermanentError(`request ${request.backupRequestId} has no storage path or provider: it was never Allowed`);
  }
  return {
    apiVersion: INTERFACE_API_VERSION,
    backupRequestId: request.backupRequestId,
    backupJobId: request.backupJobId,
    dataDate: request.dataDate,
    preparedDataPathName: request.backupDataLocation,
    storagePathName: request.storagePathName,
    backupProviderCode: request.backupProviderCode,
    requestedAt: request.receivedAt.toISOString(),
    traceId: request.traceId,
  };
}

const timestamp = z.iso.datetime({ offset: true, error: 'must be an ISO 8601 timestamp' });
const optionalTimestamp = timestamp.nullish();

/**
 * Limits of the reply's fields (SPEC §4): far above any real value, so that a hostile or broken
 * interface cannot make us store, log or index megabytes. `messageText` has none of its own (the
 * reason recorded is cut to 500 characters; the inbox keeps the whole reply, within the 64 KiB
 * message limit).
 */
export const REPLY_LIMITS = { apiVersion: 32, storagePathName: 250, verifiedHash: 512, traceId: 128 } as const;

const statusReplySchema = z.object(
  {
    apiVersion: z.string({ error: 'must be a string' }).min(1, 'must not be empty').max(REPLY_LIMITS.apiVersion),
    backupRequestId: z.uuid({ error: 'must be a UUID' }),
    storagePathName: z.string({ error: 'must be a string' }).min(1, 'must not be empty').max(REPLY_LIMITS.storagePathName),
    resultTypeCode: z.enum(['Succeeded', 'Failed'], { error: 'must be "Succeeded" or "Failed"' }),
    backupByteCount: z
      .number({ error: 'must be a number' })
      .int('must be a whole number')
      .min(0, 'must not be negative')
      .max(Number.MAX_SAFE_INTEGER),
    copyStartTimestamp: timestamp,
    copyEndTimestamp: timestamp,
    verifyStartTimestamp: optionalTimestamp,
    verifyEndTimestamp: optionalTimestamp,
    verifiedHash: z.string({ error: 'must be a string' }).max(REPLY_LIMITS.verifiedHash).nullish(),
    messageText: z.string({ error: 'must be a string' }).nullish(),
    traceId: z.string().max(REPLY_LIMITS.traceId).optional(),
  },
  { error: 'the reply must be a JSON object' },
);

export type StatusReply = z.infer<typeof statusReplySchema>;

export type ParsedReply = { ok: true; reply: StatusReply } | { ok: false; reason: string };

function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // Some Azure queue producers base64-encode message bodies by default: accept that too.
    const decoded = Buffer.from(text, 'base64').toString('utf8');
    if (/^\s*\{/.test(decoded)) return JSON.parse(decoded);
    throw new Error('not valid JSON');
  }
}


/**
 * The first string (key or value) in `json` holding a NUL character or an unpaired surrogate
 * (SPEC §4: Postgres stores neither, so such a reply could never be kept), as a reason; undefined
 * when there is none.
 */
function unstorableText(json: unknown, path = ''): string | undefined {
  if (typeof json === 'string') {
    if (json.includes('\u0000')) return `${path || '(reply)'}: contains a NUL character`;
    if (UNPAIRED_SURROGATE.test(json)) return `${path || '(reply)'}: contains an unpaired surrogate (not Unicode text)`;
    return undefined;
  }
  if (typeof json !== 'object' || json === null) return undefined;
  for (const [key, value] of Object.entries(json)) {
    const name = key.length <= 64 ? key : `${key.slice(0, 61)}...`; // the reason quotes it: keep it short
    const at = path ? `${path}.${name}` : name;
    const problem = unstorableText(key, `${at} (name)`) ?? unstorableText(value, at);
    if (problem) return problem;
  }
  return undefined;
}

/**
 * Validates a reply already parsed from JSON (SPEC §4): receive-status checks again what it reads
 * from the inbox with this, so nothing but a valid reply is ever applied.
 */
export function validateStatusReply(json: unknown): ParsedReply {
  const unstorable = unstorableText(json);
  if (unstorable) return { ok: false, reason: `invalid reply: ${unstorable}` };
  const result = statusReplySchema.safeParse(json);
  if (result.success) return { ok: true, reply: result.data };
  const problems = result.error.issues.map((issue) => `${issue.path.join('.') || '(reply)'}: ${issue.message}`);
  return { ok: false, reason: `invalid reply: ${problems.join('; ')}` };
}

/** Parses and validates an inbound reply (SPEC §4); the reason names every problem at once. */
export function parseStatusReply(text: string): ParsedReply {
  let json: unknown;
  try {
    json = parseJsonText(text);
  } catch {
    return { ok: false, reason: 'the reply is not valid JSON' };
  }
  return validateStatusReply(json);
}

/** A status reason fits the 500-character column (SPEC §2.1). */
export function truncateReason(reason: string): string {
  return reason.length <= 500 ? reason : `${reason.slice(0, 497)}...`;
}
