import { z } from 'zod';
import { backupJobIdSchema } from './backup-request-input.js';
import { validateWith, type Validation } from './field-error.js';
import { plainTextSchema } from './plain-text.js';

export const BACKUP_PROVIDER_CODES = ['Local', 'CloudA', 'CloudB'] as const;
export type BackupProviderCode = (typeof BACKUP_PROVIDER_CODES)[number];

/** A backup job of the catalogue (SPEC §3). */
export interface BackupJob {
  backupJobId: string;
  storagePathName: string;
  backupProviderCode: BackupProviderCode;
  daysToKeep: number;
  isActive: boolean;
  holdFlag: boolean;
}

export type BackupJobDefinition = Omit<BackupJob, 'backupJobId'>;

export const backupJobDefinitionSchema = z.object(
  {
    storagePathName: plainTextSchema(250).meta({
      description: 'where the interface stores the backups; 1–250 characters, no control characters',
      examples: ['vault/db'],
    }),
    backupProviderCode: z.enum(BACKUP_PROVIDER_CODES, {
      error: `must be one of ${BACKUP_PROVIDER_CODES.join(', ')}`,
    }),
    daysToKeep: z
      .number({ error: 'must be a whole number' })
      .int('must be a whole number')
      .min(1, 'must be at least 1')
      .max(36500, 'must be at most 36500'),
    isActive: z.boolean({ error: 'must be true or false' }).default(true).meta({ description: 'requests for an inactive job are NotAllowed' }),
    holdFlag: z.boolean({ error: 'must be true or false' }).default(false),
  },
  { error: 'the body must be a JSON object' },
).meta({ description: 'The body of PUT /api/v1/backup-jobs/{backupJobId}. Unknown fields are ignored.' });

export function validateBackupJobId(id: unknown): Validation<string> {
  const result = validateWith(z.object({ backupJobId: backupJobIdSchema }), { backupJobId: id });
  return result.ok ? { ok: true, value: result.value.backupJobId } : result;
}

/** Validates the body of `PUT /backup-jobs/{id}`; `isActive` defaults to true, `holdFlag` to false. */
export function validateBackupJobDefinition(body: unknown): Validation<BackupJobDefinition> {
  return validateWith(backupJobDefinitionSchema, body);
}

/**
 * Why a request is NotAllowed (SPEC §3: allowed iff its backup job exists and is active). The rule
 * itself is applied inside the check's statement (libs/db checkRequest).
 */
export const NOT_ALLOWED_REASONS = { unknownJob: 'unknown backup job', inactiveJob: 'backup job is inactive' } as const;

