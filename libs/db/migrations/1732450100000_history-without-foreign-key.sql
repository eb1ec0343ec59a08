-- Up Migration

-- The status history's foreign key to backup_requests goes, as the event outbox never had one
-- (migration status-events). Every history row is written by the status trigger from the request
-- row it follows (NEW), in the same transaction, and requests are never deleted, so the key held by
-- construction; what it cost was a referential check on every status change: an AFTER trigger
-- queued per row, running `SELECT 1 FROM ONLY backup_requests ... FOR KEY SHARE` with a plan cached
-- per connection. Made while backup_requests was analyzed empty (a fresh deployment), that cached
-- plan is a sequential scan, and then every status change read the whole table
-- (test/integration/accept-lookup-cost.test.ts: 508 rows filtered per accept after 500 requests).
ALTER TABLE backup_request_status_history DROP CONSTRAINT backup_request_status_history_backup_request_id_fkey;

-- Down Migration

ALTER TABLE backup_request_status_history
  ADD CONSTRAINT backup_request_status_history_backup_request_id_fkey
  FOREIGN KEY (backup_request_id) REFERENCES backup_requests ON DELETE CASCADE;
