import type { BackupRequestWithHistory } from '@linebacker/db';
import type { BackupRequest } from '@linebacker/domain';
import type { BackupRequestView, BackupRequestWithHistoryView } from './api-schemas.js';

export const requestLocation = (backupRequestId: string): string => `/api/v1/backup-requests/${backupRequestId}`;

const iso = (date: Date | null): string | null => (date ? date.toISOString() : null);

/** A request as the API shows it (SPEC §2.1): every field, timestamps as UTC ISO 8601, unset ones null. */
export function requestRepresentation(request: BackupRequest): BackupRequestView {
  return {
    backupRequestId: request.backupRequestId,
    backupJobId: request.backupJobId,
    dataDate: request.dataDate,
    backupDataLocation: request.backupDataLocation,
    requesterId: request.requesterId,
    status: request.status,
    statusReason: request.statusReason,
    receivedAt: request.receivedAt.toISOString(),
    checkedAt: iso(request.checkedAt),
    sentAt: iso(request.sentAt),
    repliedAt: iso(request.repliedAt),
    backupProviderCode: request.backupProviderCode,
    storagePathName: request.storagePathName,
    traceId: request.traceId,
  };
}

export function requestWithHistoryRepresentation(request: BackupRequestWithHistory): BackupRequestWithHistoryView {
  return {
    ...requestRepresentation(request),
    history: request.history.map((entry) => ({ status: entry.status, at: entry.at.toISOString(), reason: entry.reason })),
  };
}
