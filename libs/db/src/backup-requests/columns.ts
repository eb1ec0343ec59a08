/** The backup_requests columns as a BackupRequest (camelCase), for SELECT and RETURNING lists. */
export const REQUEST_COLUMNS = `
  backup_request_id AS "backupRequestId", backup_job_id AS "backupJobId", to_char(data_date, 'YYYY-MM-DD') AS "dataDate",
  backup_data_location AS "backupDataLocation", requester_id AS "requesterId", status,
  trace_id AS "traceId", received_at AS "receivedAt", checked_at AS "checkedAt", sent_at AS "sentAt",
  replied_at AS "repliedAt", backup_provider_code AS "backupProviderCode",
  storage_path_name AS "storagePathName", status_reason AS "statusReason"`;
