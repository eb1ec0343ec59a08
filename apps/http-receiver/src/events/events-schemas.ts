import { z } from 'zod';

/*
 * GET /api/v1/events: its query and headers, declared once for the route (validation) and for
 * /openapi.json.
 */

const EVENT_ID_PATTERN = /^\d{1,19}$/;
const MAX_EVENT_ID = 2n ** 63n - 1n;
const eventId = (description: string) =>
  z
    .string()
    .refine((value) => EVENT_ID_PATTERN.test(value) && BigInt(value) <= MAX_EVENT_ID, 'must be an event id (the `id:` of an event), or 0')
    .meta({ description });

export const eventsQuerySchema = z.object({
  backupRequestId: z.uuid({ error: 'must be a backup request id (a UUID)' }).optional().meta({ description: 'only the events of this request' }),
  lastEventId: eventId(
    'resume after this event, like the `Last-Event-ID` header (which wins when both are given): for a page that opens a new ' +
      'EventSource, which cannot send that header; `0` = from the oldest event kept',
  ).optional(),
});

export const lastEventIdHeaderSchema = z.object({
  'Last-Event-ID': eventId(
    'resume: first every later event the caller may see, from the outbox (no gap, no repeat), then live ones; `0` = from the ' +
      'oldest event kept. Without it (and without `lastEventId`), only events from now on. Browsers send it when an ' +
      'EventSource reconnects.',
  ).optional(),
});
