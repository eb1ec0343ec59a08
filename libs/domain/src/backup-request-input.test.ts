import { describe, expect, it } from 'vitest';
import { validateBackupRequestInput } from './backup-request-input.js';

const now = new Date('2026-03-10T12:00:00Z');
const valid = { backupJobId: 'Job_1.a-b', dataDate: '2026-03-10', backupDataLocation: '/data/prepared/2026-03-10' };

describe('backup request validation (SPEC §2.1)', () => {
  it('accepts a valid body and keeps only the three fields', () => {
    const result = validateBackupRequestInput({ ...valid, requesterId: 'someone-else', apiVersion: '2022-05-22' }, now);
    expect(result).toEqual({ ok: true, value: valid });
  });

  it('names every bad field at once', () => {
    const result = validateBackupRequestInput(
      { backupJobId: 'has space', dataDate: '2026-02-30', backupDataLocation: '', apiVersion: '2024-01-01' },
      now,
    );
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map((e) => e.field).sort()).toEqual(['apiVersion', 'backupDataLocation', 'backupJobId', 'dataDate']);
  });

  it('reports missing fields and a body that is not an object', () => {
    const missing = validateBackupRequestInput({}, now);
    expect(missing.ok || missing.errors.map((e) => e.field).sort()).toEqual(['backupDataLocation', 'backupJobId', 'dataDate']);
    for (const body of [undefined, null, [], 'text', 42]) {
      const result = validateBackupRequestInput(body, now);
      expect(result.ok || result.errors).toEqual([{ field: '(body)', message: 'the body must be a JSON object' }]);
    }
  });

  it.each([
    ['a'.repeat(50), true],
    ['a'.repeat(51), false],
    ['', false],
    ['job/1', false],
    ['job:1', false],
    [42, false],
  ])('backupJobId %j valid=%s', (backupJobId, ok) => {
    expect(validateBackupRequestInput({ ...valid, backupJobId }, now).ok).toBe(ok);
  });

  it.each([
    ['2026-03-11', true], // tomorrow (UTC) is allowed
    ['2026-03-12', false], // two days ahead is not
    ['2024-02-29', true], // leap day
    ['2023-02-29', false],
    ['2026-13-01', false],
    ['2026-3-1', false],
    ['2026-03-10T00:00:00Z', false],
  ])('dataDate %s valid=%s', (dataDate, ok) => {
    expect(validateBackupRequestInput({ ...valid, dataDate }, now).ok).toBe(ok);
  });

  it.each([
    ['x'.repeat(250), true],
    ['x'.repeat(251), false],
    ['tab\there', false],
    ['new\nline', false],
    ['del\u007f', false],
    ['c1\u0085', false],
    ['nul\u0000', false],
    ['lone \ud800 surrogate', false],
    ['paired \ud83d\ude00 surrogates', true],
    ['ünïcödé path/with spaces', true],
  ])('backupDataLocation %j valid=%s', (backupDataLocation, ok) => {
    expect(validateBackupRequestInput({ ...valid, backupDataLocation }, now).ok).toBe(ok);
  });
});
