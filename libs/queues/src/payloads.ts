/**
 * Job payloads. The job id is always the backup request id (SPEC §6), so adding the same request
 * twice is harmless. `attempt` is our own retry counter (moveToDelayed does not count attempts).
 */
export interface RequestJobData {
  backupRequestId: string;
  traceId: string;
  attempt?: number;
}
