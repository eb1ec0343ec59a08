import { describe, expect, it } from 'vitest';
import { replyAction } from './reply-action.js';
import type { RequestStatus } from './request-status.js';

const succeeded = { resultTypeCode: 'Succeeded' as const, storagePathName: 'vault/db' };
const failed = { resultTypeCode: 'Failed' as const, messageText: 'disk full', storagePathName: 'vault/db' };
const at = (status: RequestStatus, hasBackup = false) => ({ status, hasBackup, storagePathName: 'vault/db' });

describe('reply handling (SPEC §4)', () => {
  it('records the Backup for a success reply without one, from Allowed, Sent or Failed', () => {
    for (const status of ['Allowed', 'Sent', 'Failed'] as const) expect(replyAction(at(status), succeeded)).toEqual({ kind: 'record-backup' });
  });

  it('lets an existing Backup win whatever the reply says', () => {
    expect(replyAction(at('Failed', true), failed)).toEqual({ kind: 'succeed' });
    expect(replyAction(at('Sent', true), failed)).toEqual({ kind: 'succeed' });
    expect(replyAction(at('Succeeded', true), failed)).toEqual({ kind: 'no-op' });
    expect(replyAction(at('Succeeded', true), succeeded)).toEqual({ kind: 'no-op' });
  });

  it('fails Allowed or Sent requests with the interface message, or a default reason', () => {
    expect(replyAction(at('Sent'), failed)).toEqual({ kind: 'fail', reason: 'disk full' });
    expect(replyAction(at('Allowed'), { resultTypeCode: 'Failed', storagePathName: 'vault/db' })).toEqual({
      kind: 'fail',
      reason: 'the backup interface reported a failure',
    });
    expect(replyAction(at('Failed'), failed)).toEqual({ kind: 'no-op' });
  });

  it('rejects replies for unknown, Received or NotAllowed requests', () => {
    expect(replyAction(undefined, succeeded)).toEqual({ kind: 'reject', reason: 'unknown backup request' });
    expect(replyAction(at('Received'), succeeded)).toMatchObject({ kind: 'reject' });
    expect(replyAction(at('NotAllowed'), failed)).toMatchObject({ kind: 'reject' });
  });

  it("rejects a reply whose storagePathName is not the request's, whatever the request's state", () => {
    for (const reply of [succeeded, failed]) {
      for (const [status, hasBackup] of [['Allowed', false], ['Sent', false], ['Failed', false], ['Sent', true], ['Succeeded', true]] as const) {
        const action = replyAction(at(status, hasBackup), { ...reply, storagePathName: 'elsewhere/db' });
        expect(action, `${reply.resultTypeCode} for ${status}`).toEqual({
          kind: 'reject',
          reason: `the reply's storagePathName "elsewhere/db" differs from the request's "vault/db"`,
        });
      }
    }
    // paths are compared exactly: no case folding, no trimming
    expect(replyAction(at('Sent'), { ...succeeded, storagePathName: 'Vault/db' })).toMatchObject({ kind: 'reject' });
    expect(replyAction(at('Sent'), { ...succeeded, storagePathName: 'vault/db ' })).toMatchObject({ kind: 'reject' });
  });
});
