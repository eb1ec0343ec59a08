import type { BackupRequestWithHistory } from '@linebacker/db';
import type { BackupRequest } from '@linebacker/domain';

export const requestLocation = (backupRequestId: string): string => `/api/v1/backup-requests/${backupRequestId}`;

const iso = (date: Date | null): string | null => (date ? date.toISOString() : null);

/** A request as the API shows it (SPEC §2.1): every field, timestamps as UTC ISO 8601, unset ones null. */
export function requestRepresentation(request: BackupRequest) {
  return {
    backupRequestId: request.backupRequestId,
    backupJobId: request.backupJobId,
    dataDate: request.dataDate,
    backupDataLocation: request.backupDataLocation,
    requesterId: request.requesterId,
    status: request.status,
    statusReason: request.statusReason,
    receivedAt: iso(request.receivedAt),
    checkedAt: iso(request.checkedAt),
    sentAt: iso(request.sentAt),
    repliedAt: iso(request.repliedAt),
    backupProviderCode: request.backupProviderCode,
    storagePathName: request.storagePathName,
    traceId: request.traceId,
  };
}

export function requestWithHistoryRepresentation(request: BackupRequestWithHistory) {
  return {
    ...requestRepresentation(request),
    history: request.history.map((entry) => ({ status: entry.status, at: entry.at.toISOString(), reason: entry.reason })),
  };
}

/** Opaque pagination cursors: base64url of the repository's position. */
export const encodeCursor = (position: string | undefined): string | null =>
  position === undefined ? null : Buffer.from(position, 'utf8').toString('base64url');

export const decodeCursor = (cursor: string): string => Buffer.from(cursor, 'base64url').toString('utf8');
