import { z } from 'zod';
import { isCalendarDate, utcDatePlusDays } from './calendar-date.js';
import { validateWith, type Validation } from './field-error.js';
import { plainTextSchema } from './plain-text.js';

/** The only `apiVersion` older clients may send (SPEC §5.1). */
export const LEGACY_API_VERSION = '2022-05-22';

export const BACKUP_JOB_ID_PATTERN = /^[A-Za-z0-9._-]{1,50}$/;

export const backupJobIdSchema = z
  .string({ error: 'must be a string' })
  .regex(BACKUP_JOB_ID_PATTERN, 'must be 1-50 characters of A-Z, a-z, 0-9, ".", "_" or "-"')
  .meta({ description: '1–50 characters of A–Z, a–z, 0–9, ".", "_" or "-"', examples: ['nightly-db'] });

export interface BackupRequestInput {
  backupJobId: string;
  dataDate: string;
  backupDataLocation: string;
}

function buildSchema(latestDataDate: string) {
  return z.object(
    {
      backupJobId: backupJobIdSchema,
      dataDate: z
        .string({ error: 'must be a string' })
        .refine(isCalendarDate, 'must be a real calendar date in the form YYYY-MM-DD')
        .refine(
          (date) => !isCalendarDate(date) || date <= latestDataDate,
          `must not be more than 1 day in the future (latest allowed: ${latestDataDate})`,
        )
        .meta({
          format: 'date',
          description: 'YYYY-MM-DD, a real calendar date, not more than 1 day in the future (UTC)',
          examples: ['2026-11-23'],
        }),
      backupDataLocation: plainTextSchema(250).meta({
        description: 'where the prepared data is; 1–250 characters, no control characters',
        examples: ['/data/prepared/nightly'],
      }),
      apiVersion: z
        .literal(LEGACY_API_VERSION, { error: `if given, must be "${LEGACY_API_VERSION}"` })
        .optional()
        .meta({ description: 'accepted for older clients; any other value is 400' }),
    },
    { error: 'the body must be a JSON object' },
  ).meta({
    description: 'The body of POST /api/v1/backup-requests. Unknown fields are ignored (`requesterId` is never taken from the body).',
  });
}

/** The schema depends only on the UTC day, so it is built once a day, not per request. */
let cached: { latestDataDate: string; schema: ReturnType<typeof buildSchema> } | undefined;
export function backupRequestInputSchema(now: Date = new Date()) {
  const latestDataDate = utcDatePlusDays(now, 1);
  if (cached?.latestDataDate !== latestDataDate) cached = { latestDataDate, schema: buildSchema(latestDataDate) };
  return cached.schema;
}

/**
 * Validates a POST body (SPEC §2.1). Every failing field is reported; unknown fields are ignored,
 * so a client may send more than we read (`requesterId` in particular is never taken from the body).
 */
export function validateBackupRequestInput(
  body: unknown,
  now: Date = new Date(),
): Validation<BackupRequestInput> {
  const result = validateWith(backupRequestInputSchema(now), body);
  if (!result.ok) return result;
  const { backupJobId, dataDate, backupDataLocation } = result.value;
  return { ok: true, value: { backupJobId, dataDate, backupDataLocation } };
}
