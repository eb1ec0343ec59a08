import { BACKUP_JOB_ID_PATTERN, BACKUP_PROVIDER_CODES, REQUEST_STATUSES, SCOPES, backupJobIdSchema, statusEventSchema } from '@linebacker/domain';
import { z } from 'zod';
import { PROBLEM_TYPES, problemType, type ProblemSlug } from './problem.js';

/*
 * The HTTP contract of the API routes, declared once: the routes validate their queries with these
 * schemas, the representations are typed by them, and /openapi.json is generated from them
 * (openapi.ts). Request bodies are validated by libs/domain's schemas, documented from the same.
 */

/** Opaque pagination cursors: base64url of the repository's position. */
export const encodeCursor = (position: string | undefined): string | null =>
  position === undefined ? null : Buffer.from(position, 'utf8').toString('base64url');

const decodeCursor = (cursor: string): string => Buffer.from(cursor, 'base64url').toString('utf8');

const MAX_BIGINT = 2n ** 63n - 1n;
const CURSOR_DESCRIPTION = 'the `nextCursor` of the previous page';

const pageSize = (max: number, defaultSize: number) => {
  const message = `must be a whole number from 1 to ${max}`;
  return z.coerce
    .number({ error: message })
    .int(message)
    .min(1, message)
    .max(max, message)
    .default(defaultSize)
    .meta({ description: 'page size' });
};

/**
 * `?cursor=`: an opaque `nextCursor` decoded to the position it holds, which must be one this API
 * hands out (anything else, a NUL byte or an out-of-range number, would be a 500 from Postgres).
 */
const cursorOf = (isPosition: (position: string) => boolean) =>
  z.string().transform(decodeCursor).refine(isPosition, 'is not a cursor this API returned').optional().meta({ description: CURSOR_DESCRIPTION });

/** A bigint sequence number (requests' `seq`, deliveries' id): at most what int8 holds. */
const isSequenceNumber = (position: string): boolean => /^\d{1,19}$/.test(position) && BigInt(position) <= MAX_BIGINT;

/** `?all=true`: every client's items, not only the caller's (for `ops:read`). */
const everyClientFlag = (items: string) =>
  z
    .enum(['true', 'false'], { error: 'must be true or false' })
    .default('false')
    .transform((value) => value === 'true')
    .meta({ description: `every client's ${items}, not only the caller's (needs \`ops:read\`)` });

export const backupRequestListQuerySchema = z.object({
  status: z
    .enum(REQUEST_STATUSES, { error: `must be one of ${REQUEST_STATUSES.join(', ')}` })
    .optional()
    .meta({ description: 'only requests in this status' }),
  backupJobId: z
    .string()
    .regex(BACKUP_JOB_ID_PATTERN, 'must be a backup job id')
    .optional()
    .meta({ description: 'only requests for this job' }),
  since: z.iso
    .datetime({ offset: true, error: 'must be an ISO 8601 timestamp, e.g. 2026-01-31T00:00:00Z' })
    .or(z.iso.date({ error: 'must be an ISO 8601 date or timestamp' }))
    .transform((value) => new Date(value))
    .optional()
    .meta({ description: 'only requests received at or after this instant (an ISO 8601 timestamp with offset, or a date)' }),
  limit: pageSize(100, 20),
  cursor: cursorOf(isSequenceNumber),
  all: everyClientFlag('requests'),
});

export const backupJobListQuerySchema = z.object({
  limit: pageSize(500, 100),
  // a position is a backup job id; anything else (a NUL byte in particular) would be a 500 from Postgres
  cursor: cursorOf((position) => BACKUP_JOB_ID_PATTERN.test(position)),
});

/** A client's Idempotency-Key: 1-255 visible ASCII characters. */
export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
/** An X-Request-Id we take as the trace id. */
export const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The trace headers every path accepts (trace-id.ts). */
export const traceHeadersSchema = z.object({
  traceparent: z.string().optional().meta({ description: 'W3C trace context; its trace id becomes the trace id of the request' }),
  'X-Request-Id': z
    .string()
    .regex(REQUEST_ID)
    .optional()
    .meta({ description: 'used as the trace id when there is no traceparent (1–128 of A–Z a–z 0–9 . _ : -)' }),
});

export const idempotencyKeyHeaderSchema = z.object({
  'Idempotency-Key': z
    .string()
    .regex(IDEMPOTENCY_KEY)
    .optional()
    .meta({ description: 'the same key from the same client returns the original response; with a different body it is 422' }),
});

export const backupRequestIdParamSchema = z.object({
  backupRequestId: z.uuid().meta({ description: 'the request id', param: { example: '01936f0e-7d3a-7c4e-9b1a-2f5c6d7e8f90' } }),
});
export const backupJobIdParamSchema = z.object({
  backupJobId: backupJobIdSchema.meta({ description: 'the job id', param: { example: 'nightly-db' } }),
});

const timestamp = z.iso.datetime().meta({ description: 'UTC, ISO 8601' });
const nullableTimestamp = (description: string) => z.iso.datetime().nullable().meta({ description });
const requestStatusSchema = z.enum(REQUEST_STATUSES).meta({
  id: 'RequestStatus',
  description: 'Received → Allowed | NotAllowed; Allowed → Sent; Sent → Succeeded | Failed (SPEC §2.2)',
});
const providerCodeSchema = z.enum(BACKUP_PROVIDER_CODES).meta({ id: 'BackupProviderCode' });
const nextCursor = z.string().nullable().meta({ description: 'pass back as `cursor` for the next page; null on the last page' });

/** A request as the API shows it (representation.ts). */
export const backupRequestSchema = z
  .object({
    backupRequestId: z.uuid().meta({ description: 'generated by linebacker (UUID v7)' }),
    backupJobId: backupJobIdSchema,
    dataDate: z.iso.date(),
    backupDataLocation: z.string().min(1).max(250),
    requesterId: z.string().meta({ description: 'the id of the client that made the request' }),
    status: requestStatusSchema,
    statusReason: z.string().max(500).nullable().meta({ description: 'why NotAllowed or Failed, or the interface message' }),
    receivedAt: timestamp,
    checkedAt: nullableTimestamp('when check-allowed decided'),
    sentAt: nullableTimestamp('when it was sent to the backup interface'),
    repliedAt: nullableTimestamp('when the interface reply was applied'),
    backupProviderCode: providerCodeSchema.nullable().meta({ description: 'copied from the backup job when Allowed' }),
    storagePathName: z.string().nullable().meta({ description: 'copied from the backup job when Allowed' }),
    traceId: z.string().meta({ description: 'the trace id of the POST (also in X-Request-Id); travels through the pipeline' }),
  })
  .meta({ id: 'BackupRequest', description: 'A backup request (SPEC §2.1). Timestamps are UTC ISO 8601; fields not set yet are null.' });
export type BackupRequestView = z.infer<typeof backupRequestSchema>;

const statusHistoryEntrySchema = z
  .object({ status: requestStatusSchema, at: timestamp, reason: z.string().nullable() })
  .meta({ id: 'StatusHistoryEntry' });

export const backupRequestWithHistorySchema = backupRequestSchema
  .extend({ history: z.array(statusHistoryEntrySchema).meta({ description: 'oldest first' }) })
  .meta({ id: 'BackupRequestWithHistory', description: 'A backup request with its status history.' });
export type BackupRequestWithHistoryView = z.infer<typeof backupRequestWithHistorySchema>;

export const backupRequestPageSchema = z.object({ items: z.array(backupRequestSchema), nextCursor }).meta({ id: 'BackupRequestPage' });

export const backupJobSchema = z
  .object({
    backupJobId: backupJobIdSchema,
    storagePathName: z.string().min(1).max(250),
    backupProviderCode: providerCodeSchema,
    daysToKeep: z.int().min(1).max(36500),
    isActive: z.boolean(),
    holdFlag: z.boolean(),
  })
  .meta({ id: 'BackupJob', description: 'A backup job of the catalogue (SPEC §3).' });

export const backupJobPageSchema = z
  .object({ items: z.array(backupJobSchema).meta({ description: 'in backupJobId order' }), nextCursor })
  .meta({ id: 'BackupJobPage' });

const fieldErrorSchema = z.object({
  field: z.string().meta({ description: 'the field name (dotted path), "(body)" for the body itself, or a header or query parameter name' }),
  message: z.string(),
});

/** RFC 9457 problem details, as every error answers (error-handler.ts). */
export const problemSchema = z
  .object({
    type: z
      .enum((Object.keys(PROBLEM_TYPES) as ProblemSlug[]).map(problemType))
      .meta({ description: 'urn:linebacker:problem:<slug>, one of the problem types of problem.ts' }),
    title: z.string(),
    status: z.int().min(400).max(599),
    detail: z.string(),
    instance: z.string().meta({ format: 'uri-reference', description: 'the path and query of the request' }),
    errors: z.array(fieldErrorSchema).optional().meta({ description: 'validation problems: every invalid field at once' }),
  })
  .meta({ id: 'Problem', description: 'RFC 9457 problem details.' });
export type ProblemBody = z.infer<typeof problemSchema>;

export const signInSchema = z
  .object({
    apiKey: z.string().min(1).meta({ description: 'an API key' }),
    next: z.string().optional().meta({ description: 'the operator page to go to after signing in (browsers)' }),
  })
  .meta({ id: 'SignIn' });

export const sessionSchema = z.object({ clientId: z.string(), scopes: z.array(z.enum(SCOPES)) }).meta({ id: 'Session' });
export type SessionView = z.infer<typeof sessionSchema>;

// ---- webhook endpoints (SPEC §8) ----------------------------------------------------------------

export const webhookEndpointIdParamSchema = z.object({
  endpointId: z.uuid().meta({ description: 'the endpoint id', param: { example: '01936f0e-7d3a-7c4e-9b1a-2f5c6d7e8f91' } }),
});

export const webhookEndpointListQuerySchema = z.object({
  limit: pageSize(100, 20),
  cursor: cursorOf((position) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(position)),
  all: everyClientFlag('endpoints'),
});

export const deliveryListQuerySchema = z.object({
  limit: pageSize(100, 20),
  cursor: cursorOf(isSequenceNumber),
});

export const webhookEndpointSchema = z
  .object({
    endpointId: z.uuid(),
    clientId: z.string().meta({ description: 'the client whose events it gets' }),
    url: z.string(),
    statuses: z.array(requestStatusSchema).meta({ description: 'the new statuses it is sent (every status unless the endpoint was created with a list)' }),
    createdAt: timestamp,
    lastDeliveredAt: nullableTimestamp('when a delivery to it last succeeded (updated at most once a second)'),
    failing: z.boolean().meta({
      description:
        'true once a delivery failed after retrying for the whole retry window (LINEBACKER_WEBHOOK_MAX_AGE_MS, 24 h) with no delivery to the endpoint succeeding in that time; deliveries go on being attempted, and the next success clears it',
    }),
    failingSince: nullableTimestamp('when it was marked failing'),
  })
  .meta({ id: 'WebhookEndpoint', description: 'A webhook endpoint (SPEC §8). The secret is shown only when it is created.' });
export type WebhookEndpointView = z.infer<typeof webhookEndpointSchema>;

export const createdWebhookEndpointSchema = webhookEndpointSchema
  .extend({
    secret: z.string().meta({
      description: 'whsec_ + base64 of 32 random bytes: verify the webhook-signature of every delivery with it (Standard Webhooks). Shown only this once',
    }),
  })
  .meta({ id: 'CreatedWebhookEndpoint', description: 'A new webhook endpoint, with its secret (shown only this once).' });

export const webhookEndpointPageSchema = z
  .object({ items: z.array(webhookEndpointSchema).meta({ description: 'newest first' }), nextCursor })
  .meta({ id: 'WebhookEndpointPage' });

export const deliverySchema = z
  .object({
    eventId: z.string().meta({ description: 'the event (and the webhook-id of every attempt)' }),
    event: statusEventSchema,
    status: z.enum(['pending', 'delivered', 'failed']).meta({ description: 'pending: not yet answered with a 2xx, still retried' }),
    attempts: z.int().min(0).meta({ description: 'attempts started' }),
    lastAttemptAt: nullableTimestamp('when the last attempt started'),
    lastStatusCode: z.int().nullable().meta({ description: "the status code of the last attempt's answer; null when it got none" }),
    lastError: z.string().nullable().meta({ description: "why the last attempt failed (no answer within the timeout, refused, the answer's status)" }),
    nextAttemptAt: nullableTimestamp('when the next attempt is due; null once delivered or failed'),
    deliveredAt: nullableTimestamp('when a 2xx answer was recorded'),
    failedAt: nullableTimestamp('when it was given up (after LINEBACKER_WEBHOOK_MAX_AGE_MS)'),
    createdAt: timestamp,
  })
  .meta({ id: 'WebhookDelivery', description: 'One event delivered (or being delivered) to one endpoint.' });
export type DeliveryView = z.infer<typeof deliverySchema>;

export const deliveryPageSchema = z
  .object({ items: z.array(deliverySchema).meta({ description: 'newest event first' }), nextCursor })
  .meta({ id: 'WebhookDeliveryPage' });
