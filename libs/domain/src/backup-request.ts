import type { BackupProviderCode } from './backup-job.js';
import type { RequestStatus } from './request-status.js';

/** A backup request as stored (SPEC §2.1). Timestamps are UTC instants. */
export interface BackupRequest {
  backupRequestId: string;
  backupJobId: string;
  dataDate: string;
  backupDataLocation: string;
  requesterId: string;
  status: RequestStatus;
  traceId: string;
  receivedAt: Date;
  checkedAt: Date | null;
  sentAt: Date | null;
  repliedAt: Date | null;
  backupProviderCode: BackupProviderCode | null;
  storagePathName: string | null;
  statusReason: string | null;
}

export interface StatusHistoryEntry {
  status: RequestStatus;
  at: Date;
  reason: string | null;
}
