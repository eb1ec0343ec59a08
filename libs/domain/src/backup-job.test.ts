import { describe, expect, it } from 'vitest';
import { allowDecision, validateBackupJobDefinition, validateBackupJobId, type BackupJob } from './backup-job.js';

const job: BackupJob = {
  backupJobId: 'nightly',
  storagePathName: 'vault/nightly',
  backupProviderCode: 'CloudA',
  daysToKeep: 30,
  isActive: true,
  holdFlag: false,
};

describe('allow rule (SPEC §3)', () => {
  it('allows an existing active job', () => expect(allowDecision(job)).toEqual({ allowed: true }));
  it('refuses an unknown job', () =>
    expect(allowDecision(undefined)).toEqual({ allowed: false, reason: 'unknown backup job' }));
  it('refuses an inactive job', () =>
    expect(allowDecision({ ...job, isActive: false })).toEqual({ allowed: false, reason: 'backup job is inactive' }));
});

describe('backup job validation', () => {
  it('defaults isActive to true and holdFlag to false', () => {
    expect(validateBackupJobDefinition({ storagePathName: 's', backupProviderCode: 'Local', daysToKeep: 1 })).toEqual({
      ok: true,
      value: { storagePathName: 's', backupProviderCode: 'Local', daysToKeep: 1, isActive: true, holdFlag: false },
    });
  });

  it('names every bad field', () => {
    const result = validateBackupJobDefinition({ storagePathName: '', backupProviderCode: 'Tape', daysToKeep: 36501, isActive: 'yes' });
    expect(result.ok || result.errors.map((e) => e.field).sort()).toEqual([
      'backupProviderCode',
      'daysToKeep',
      'isActive',
      'storagePathName',
    ]);
  });

  it('checks the job id', () => {
    expect(validateBackupJobId('ok.id_1-2').ok).toBe(true);
    expect(validateBackupJobId('no spaces').ok).toBe(false);
  });
});
