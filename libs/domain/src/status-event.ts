import { z } from 'zod';
import { REQUEST_STATUSES } from './request-status.js';

/** The type of every event (SPEC §8): one per status change of a request. */
export const STATUS_CHANGED_EVENT = 'backup-request.status-changed';

/** Digits of an event id: ids are zero-padded so that they also sort as strings. */
const EVENT_ID_DIGITS = 16;

const statusSchema = z.enum(REQUEST_STATUSES);

/**
 * A status event as webhooks deliver it and the event stream sends it (SPEC §8). `eventId`
 * increases with commit order: a reader resumes after any event it got and misses none committed
 * later. `at` is when the change happened (its transaction's time, UTC ISO 8601, as in the history).
 */
export const statusEventSchema = z
  .object({
    eventId: z
      .string()
      .regex(/^\d+$/)
      .meta({ description: 'increases with commit order (zero-padded digits, so it also sorts as a string); the same on every webhook retry' }),
    type: z.literal(STATUS_CHANGED_EVENT),
    backupRequestId: z.uuid(),
    requesterId: z.string(),
    backupJobId: z.string(),
    status: statusSchema.meta({ description: 'the new status' }),
    previousStatus: statusSchema.nullable().meta({ description: 'null for Received, the first status' }),
    reason: z.string().nullable().meta({ description: 'why NotAllowed or Failed, or the interface message' }),
    at: z.iso.datetime().meta({ description: 'when the change was made (UTC, ISO 8601)' }),
    traceId: z.string(),
  })
  .meta({ id: 'StatusEvent', description: 'A status change of a backup request (SPEC §8).' });

export type StatusEvent = z.infer<typeof statusEventSchema>;

/** The event id of outbox row `id` (a positive bigint). */
export function formatEventId(id: number | bigint | string): string {
  return String(id).padStart(EVENT_ID_DIGITS, '0');
}

/**
 * The outbox row id of an event id, padded or not ("0" = before every event); undefined for
 * anything else (not digits, or beyond what a JavaScript number holds exactly).
 */
export function parseEventId(text: string): number | undefined {
  if (!/^\d{1,19}$/.test(text)) return undefined;
  const id = Number(text);
  return Number.isSafeInteger(id) ? id : undefined;
}
