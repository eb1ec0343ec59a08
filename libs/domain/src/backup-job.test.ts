import { describe, expect, it } from 'vitest';
import { validateBackupJobDefinition, validateBackupJobId } from './backup-job.js';

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

  it.each([
    ['vault/db', true],
    ['nul\u0000', false],
    ['tab\there', false],
    ['c1\u009b', false],
    ['lone \udc00 surrogate', false],
    ['x'.repeat(251), false],
  ])('storagePathName %j valid=%s', (storagePathName, ok) => {
    const result = validateBackupJobDefinition({ storagePathName, backupProviderCode: 'Local', daysToKeep: 1 });
    expect(result.ok || result.errors.map((e) => e.field)).toEqual(ok ? true : ['storagePathName']);
  });

  it('checks the job id', () => {
    expect(validateBackupJobId('ok.id_1-2').ok).toBe(true);
    expect(validateBackupJobId('no spaces').ok).toBe(false);
  });
});
